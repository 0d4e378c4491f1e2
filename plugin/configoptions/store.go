package configoptions

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

// groupStore reads and writes groups, with their product links, options and
// values, through the host's Store. Every statement is a constant string (or
// one of a few built from constants), so the host prepares each once.
//
// Locking: every write of a group first locks the group's row (SELECT ...
// FOR UPDATE), so two admin saves of one group run one after the other and
// each sees what the other wrote. A writer of selections (the checkout) must
// read the group row LOCK IN SHARE MODE in its transaction, so that an
// update removing an option, or a delete, cannot interleave with it; the
// count of selections taken during a save is also a locking read.
type groupStore struct {
	db hostapi.Store
	// audit records every admin write in its transaction (nil: none, for
	// tests of the store alone). The host stamps who made the request.
	audit hostapi.Audit
	now   func() time.Time
}

// record writes the audit entry of a change to group id inside tx, so the
// change and its record commit together.
func (s *groupStore) record(ctx context.Context, tx hostapi.TxID, action string, id uint64, msg string) error {
	if s.audit == nil {
		return nil
	}
	if _, err := s.audit.Write(ctx, tx, hostapi.AuditEntry{Action: action, Subject: fmt.Sprintf("group:%d", id), Message: msg}); err != nil {
		return fmt.Errorf("audit %s of group %d: %w", action, id, err)
	}
	return nil
}

// groupRecord is a stored group with its bookkeeping.
type groupRecord struct {
	Group     catalog.Group
	CreatedAt time.Time
	UpdatedAt time.Time
}

// groupSummary is a group as the list shows it: without its options, with
// how many options, live values and selections it has.
type groupSummary struct {
	groupRecord
	OptionCount    int64
	ValueCount     int64
	SelectionCount int64
}

// selectionCounts says how many selections point at each option and value
// of a group.
type selectionCounts struct {
	ByOption map[uint64]int64
	ByValue  map[uint64]int64
	Total    int64
}

// groupFilter selects groups for the list. Deleted groups are never listed.
type groupFilter struct {
	// Mode is "" for every mode.
	Mode catalog.GroupMode
	// Active is nil for active and inactive groups alike.
	Active *bool
}

const (
	groupColumns = `id, name, description, mode, service_type, active, sort, deleted_at, created_at, updated_at`

	selectGroup          = `SELECT ` + groupColumns + ` FROM ext_configoptions_groups WHERE id = ?`
	selectGroupForUpdate = selectGroup + ` FOR UPDATE`
	// selectLiveGroupByNameMode finds a seeded group again. As a locking
	// read it also locks the gap where the group would go, so two seeds
	// running at once cannot both insert it (one of them deadlocks and
	// fails; a retry then finds the group).
	selectLiveGroupByNameMode = `SELECT id FROM ext_configoptions_groups WHERE name = ? AND mode = ? AND deleted_at IS NULL ORDER BY id FOR UPDATE`

	selectGroupProducts = `SELECT product_id FROM ext_configoptions_group_products WHERE group_id = ? ORDER BY product_id`
	selectLiveProducts  = `SELECT gp.group_id, gp.product_id FROM ext_configoptions_group_products gp
JOIN ext_configoptions_groups g ON g.id = gp.group_id WHERE g.deleted_at IS NULL ORDER BY gp.group_id, gp.product_id`

	selectOptions = `SELECT id, group_id, name, description, type, provisioning_key, required, active, min_qty, max_qty, step, unit,
hourly_unit_price, monthly_unit_price, quarterly_unit_price, semi_annual_unit_price, annual_unit_price, sort
FROM ext_configoptions_options WHERE group_id = ? ORDER BY sort, id`
	selectValues = `SELECT v.id, v.option_id, v.label, v.raw, v.hourly_price, v.monthly_price, v.quarterly_price, v.semi_annual_price, v.annual_price,
v.is_default, v.active, v.sort, v.deleted_at
FROM ext_configoptions_values v JOIN ext_configoptions_options o ON o.id = v.option_id WHERE o.group_id = ? ORDER BY v.sort, v.id`

	selectSelectionCounts = `SELECT s.option_id, s.value_id, COUNT(*) FROM ext_configoptions_selections s
JOIN ext_configoptions_options o ON o.id = s.option_id WHERE o.group_id = ? GROUP BY s.option_id, s.value_id`
	selectSelectionCountsForUpdate = selectSelectionCounts + ` FOR UPDATE`

	listGroupsSelect = `SELECT g.id, g.name, g.description, g.mode, g.service_type, g.active, g.sort, g.deleted_at, g.created_at, g.updated_at,
(SELECT COUNT(*) FROM ext_configoptions_options o WHERE o.group_id = g.id),
(SELECT COUNT(*) FROM ext_configoptions_values v JOIN ext_configoptions_options o ON o.id = v.option_id WHERE o.group_id = g.id AND v.deleted_at IS NULL),
(SELECT COUNT(*) FROM ext_configoptions_selections s JOIN ext_configoptions_options o ON o.id = s.option_id WHERE o.group_id = g.id)
FROM ext_configoptions_groups g WHERE g.deleted_at IS NULL`
	listGroupsByMode   = ` AND g.mode = ?`
	listGroupsByActive = ` AND g.active = ?`
	listGroupsOrder    = ` ORDER BY g.sort, g.id`

	insertGroup = `INSERT INTO ext_configoptions_groups (name, description, mode, service_type, active, sort, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	updateGroup = `UPDATE ext_configoptions_groups SET name = ?, description = ?, mode = ?, service_type = ?, active = ?, sort = ?, updated_at = ?
WHERE id = ? AND deleted_at IS NULL`
	softDeleteGroup = `UPDATE ext_configoptions_groups SET deleted_at = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL`

	deleteGroupProducts = `DELETE FROM ext_configoptions_group_products WHERE group_id = ?`
	insertGroupProduct  = `INSERT INTO ext_configoptions_group_products (group_id, product_id) VALUES (?, ?)`

	insertOption = `INSERT INTO ext_configoptions_options (group_id, name, description, type, provisioning_key, required, active, min_qty, max_qty, step, unit,
hourly_unit_price, monthly_unit_price, quarterly_unit_price, semi_annual_unit_price, annual_unit_price, sort)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateOption = `UPDATE ext_configoptions_options SET name = ?, description = ?, type = ?, provisioning_key = ?, required = ?, active = ?,
min_qty = ?, max_qty = ?, step = ?, unit = ?,
hourly_unit_price = ?, monthly_unit_price = ?, quarterly_unit_price = ?, semi_annual_unit_price = ?, annual_unit_price = ?, sort = ?
WHERE id = ? AND group_id = ?`
	deleteOption       = `DELETE FROM ext_configoptions_options WHERE id = ? AND group_id = ?`
	deleteOptionValues = `DELETE FROM ext_configoptions_values WHERE option_id = ?`

	insertValue = `INSERT INTO ext_configoptions_values (option_id, label, raw, hourly_price, monthly_price, quarterly_price, semi_annual_price, annual_price,
is_default, active, sort) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateValue = `UPDATE ext_configoptions_values SET label = ?, raw = ?, hourly_price = ?, monthly_price = ?, quarterly_price = ?, semi_annual_price = ?,
annual_price = ?, is_default = ?, active = ?, sort = ? WHERE id = ? AND option_id = ? AND deleted_at IS NULL`
	deleteValue = `DELETE FROM ext_configoptions_values WHERE id = ? AND option_id = ?`
	// retireValue soft-deletes a value that selections point at; it also
	// stops being the default, so a client is never offered it again.
	retireValue = `UPDATE ext_configoptions_values SET deleted_at = ?, is_default = 0 WHERE id = ? AND option_id = ? AND deleted_at IS NULL`
)

// timestamp is now as the DATETIME(6) columns store it: UTC, to the
// microsecond, so a time returned equals the one read back later.
func (s *groupStore) timestamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// inTx runs fn in one transaction, committing when it returns nil.
func (s *groupStore) inTx(ctx context.Context, fn func(tx hostapi.TxID) error) error {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx.ID()); err != nil {
		// The rollback must run even when ctx is what ended fn; its own
		// error adds nothing (the host reaps a transaction left open).
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

// group reads a group with its products, options and values (soft-deleted
// values included, marked Deleted), options and values ordered by sort, id.
// A soft-deleted group is returned too, with DeletedAt set: selections may
// still name it.
func (s *groupStore) group(ctx context.Context, id uint64) (groupRecord, selectionCounts, error) {
	var (
		rec    groupRecord
		counts selectionCounts
	)
	// One transaction: a snapshot, so the options and values read belong
	// to the same version of the group.
	err := s.inTx(ctx, func(tx hostapi.TxID) error {
		var err error
		if rec, err = s.load(ctx, tx, id, false); err != nil {
			return err
		}
		counts, err = s.selectionCounts(ctx, tx, id, false)
		return err
	})
	return rec, counts, err
}

// load reads group id in tx; lock takes the group row FOR UPDATE first.
func (s *groupStore) load(ctx context.Context, tx hostapi.TxID, id uint64, lock bool) (groupRecord, error) {
	q := selectGroup
	if lock {
		q = selectGroupForUpdate
	}
	rows, err := s.db.Query(ctx, tx, q, id)
	if err != nil {
		return groupRecord{}, fmt.Errorf("read group %d: %w", id, err)
	}
	if rows.Len() == 0 {
		return groupRecord{}, hostapi.Errorf(hostapi.CodeNotFound, "no group %d", id)
	}
	rec, err := scanGroup(rows, 0)
	if err != nil {
		return groupRecord{}, err
	}
	g := &rec.Group

	if rows, err = s.db.Query(ctx, tx, selectGroupProducts, id); err != nil {
		return groupRecord{}, fmt.Errorf("read products of group %d: %w", id, err)
	}
	for i := range rows.Len() {
		var p uint64
		if err := rows.Scan(i, &p); err != nil {
			return groupRecord{}, hostapi.Errorf(hostapi.CodeInternal, "read product of group %d: %w", id, err)
		}
		g.ProductIDs = append(g.ProductIDs, p)
	}

	if rows, err = s.db.Query(ctx, tx, selectOptions, id); err != nil {
		return groupRecord{}, fmt.Errorf("read options of group %d: %w", id, err)
	}
	optionAt := map[uint64]int{}
	for i := range rows.Len() {
		o, err := scanOption(rows, i)
		if err != nil {
			return groupRecord{}, err
		}
		optionAt[o.ID] = len(g.Options)
		g.Options = append(g.Options, o)
	}

	if rows, err = s.db.Query(ctx, tx, selectValues, id); err != nil {
		return groupRecord{}, fmt.Errorf("read values of group %d: %w", id, err)
	}
	for i := range rows.Len() {
		v, err := scanValue(rows, i)
		if err != nil {
			return groupRecord{}, err
		}
		at, ok := optionAt[v.OptionID]
		if !ok {
			return groupRecord{}, hostapi.Errorf(hostapi.CodeInternal, "value %d belongs to option %d, not read with group %d", v.ID, v.OptionID, id)
		}
		g.Options[at].Values = append(g.Options[at].Values, v)
	}
	return rec, nil
}

func scanGroup(rows *hostapi.Rows, i int, extra ...any) (groupRecord, error) {
	var (
		rec         groupRecord
		mode        string
		serviceType *string
	)
	g := &rec.Group
	dest := append([]any{&g.ID, &g.Name, &g.Description, &mode, &serviceType, &g.Active, &g.Sort, &g.DeletedAt, &rec.CreatedAt, &rec.UpdatedAt}, extra...)
	if err := rows.Scan(i, dest...); err != nil {
		return groupRecord{}, hostapi.Errorf(hostapi.CodeInternal, "read group: %w", err)
	}
	g.Mode = catalog.GroupMode(mode)
	if serviceType != nil {
		g.ServiceType = *serviceType
	}
	return rec, nil
}

func scanOption(rows *hostapi.Rows, i int) (catalog.Option, error) {
	var (
		o   catalog.Option
		typ string
	)
	p := &o.UnitPrices
	if err := rows.Scan(i, &o.ID, &o.GroupID, &o.Name, &o.Description, &typ, &o.ProvisioningKey, &o.Required, &o.Active,
		&o.Min, &o.Max, &o.Step, &o.Unit, &p.Hourly, &p.Monthly, &p.Quarterly, &p.SemiAnnual, &p.Annual, &o.Sort); err != nil {
		return o, hostapi.Errorf(hostapi.CodeInternal, "read option: %w", err)
	}
	o.Type = catalog.OptionType(typ)
	return o, nil
}

func scanValue(rows *hostapi.Rows, i int) (catalog.Value, error) {
	var (
		v         catalog.Value
		deletedAt *time.Time
	)
	p := &v.Prices
	if err := rows.Scan(i, &v.ID, &v.OptionID, &v.Label, &v.Raw, &p.Hourly, &p.Monthly, &p.Quarterly, &p.SemiAnnual, &p.Annual,
		&v.Default, &v.Active, &v.Sort, &deletedAt); err != nil {
		return v, hostapi.Errorf(hostapi.CodeInternal, "read value: %w", err)
	}
	v.Deleted = deletedAt != nil
	return v, nil
}

// selectionCounts counts the selections of group id's options and values;
// lock makes it a locking read, so no selection can be added to them until
// the transaction ends.
func (s *groupStore) selectionCounts(ctx context.Context, tx hostapi.TxID, id uint64, lock bool) (selectionCounts, error) {
	q := selectSelectionCounts
	if lock {
		q = selectSelectionCountsForUpdate
	}
	rows, err := s.db.Query(ctx, tx, q, id)
	if err != nil {
		return selectionCounts{}, fmt.Errorf("count selections of group %d: %w", id, err)
	}
	out := selectionCounts{ByOption: map[uint64]int64{}, ByValue: map[uint64]int64{}}
	for i := range rows.Len() {
		var (
			option uint64
			value  *uint64
			n      int64
		)
		if err := rows.Scan(i, &option, &value, &n); err != nil {
			return selectionCounts{}, hostapi.Errorf(hostapi.CodeInternal, "read selection count: %w", err)
		}
		out.ByOption[option] += n
		if value != nil {
			out.ByValue[*value] += n
		}
		out.Total += n
	}
	return out, nil
}

// list returns the live groups f selects, ordered by sort, id, with counts
// and product links.
func (s *groupStore) list(ctx context.Context, f groupFilter) ([]groupSummary, error) {
	q, args := listGroupsSelect, []any{}
	if f.Mode != "" {
		q, args = q+listGroupsByMode, append(args, string(f.Mode))
	}
	if f.Active != nil {
		q, args = q+listGroupsByActive, append(args, *f.Active)
	}
	q += listGroupsOrder
	var out []groupSummary
	err := s.inTx(ctx, func(tx hostapi.TxID) error {
		rows, err := s.db.Query(ctx, tx, q, args...)
		if err != nil {
			return fmt.Errorf("list groups: %w", err)
		}
		out = make([]groupSummary, rows.Len())
		at := make(map[uint64]int, len(out))
		for i := range out {
			sum := &out[i]
			if sum.groupRecord, err = scanGroup(rows, i, &sum.OptionCount, &sum.ValueCount, &sum.SelectionCount); err != nil {
				return err
			}
			at[sum.Group.ID] = i
		}
		if rows, err = s.db.Query(ctx, tx, selectLiveProducts); err != nil {
			return fmt.Errorf("list group products: %w", err)
		}
		for i := range rows.Len() {
			var group, product uint64
			if err := rows.Scan(i, &group, &product); err != nil {
				return hostapi.Errorf(hostapi.CodeInternal, "read group product: %w", err)
			}
			// Products of groups the filter left out are skipped.
			if j, ok := at[group]; ok {
				out[j].Group.ProductIDs = append(out[j].Group.ProductIDs, product)
			}
		}
		return nil
	})
	return out, err
}

// create stores a new group with its products, options and values in one
// transaction and returns its id. Ids in g are ignored; callers refuse them
// before (see checkNew).
func (s *groupStore) create(ctx context.Context, g catalog.Group) (uint64, error) {
	var id uint64
	err := s.inTx(ctx, func(tx hostapi.TxID) error {
		var err error
		if id, err = s.insert(ctx, tx, g, s.timestamp()); err != nil {
			return err
		}
		return s.record(ctx, tx, "configoptions.group_created", id, fmt.Sprintf("group %q (%s) created with %d options", g.Name, g.Mode, len(g.Options)))
	})
	return id, err
}

func (s *groupStore) insert(ctx context.Context, tx hostapi.TxID, g catalog.Group, now time.Time) (uint64, error) {
	res, err := s.db.Exec(ctx, tx, insertGroup, g.Name, g.Description, string(g.Mode), nullString(g.ServiceType), g.Active, g.Sort, now, now)
	if err != nil {
		return 0, fmt.Errorf("insert group %q: %w", g.Name, err)
	}
	id := uint64(res.LastInsertID)
	if err := s.insertProducts(ctx, tx, id, g.ProductIDs); err != nil {
		return 0, err
	}
	for _, o := range g.Options {
		if _, err := s.insertOption(ctx, tx, id, o); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func (s *groupStore) insertProducts(ctx context.Context, tx hostapi.TxID, groupID uint64, products []uint64) error {
	for _, p := range products {
		if _, err := s.db.Exec(ctx, tx, insertGroupProduct, groupID, p); err != nil {
			return fmt.Errorf("link group %d to product %d: %w", groupID, p, err)
		}
	}
	return nil
}

// insertOption inserts o and its values into group groupID.
func (s *groupStore) insertOption(ctx context.Context, tx hostapi.TxID, groupID uint64, o catalog.Option) (uint64, error) {
	p := o.UnitPrices
	res, err := s.db.Exec(ctx, tx, insertOption, groupID, o.Name, o.Description, string(o.Type), o.ProvisioningKey, o.Required, o.Active,
		o.Min, o.Max, o.Step, o.Unit, price(p.Hourly), price(p.Monthly), price(p.Quarterly), price(p.SemiAnnual), price(p.Annual), o.Sort)
	if err != nil {
		return 0, fmt.Errorf("insert option %q: %w", o.Name, err)
	}
	id := uint64(res.LastInsertID)
	for _, v := range o.Values {
		if err := s.insertValue(ctx, tx, id, v); err != nil {
			return 0, err
		}
	}
	return id, nil
}

func (s *groupStore) insertValue(ctx context.Context, tx hostapi.TxID, optionID uint64, v catalog.Value) error {
	p := v.Prices
	if _, err := s.db.Exec(ctx, tx, insertValue, optionID, v.Label, v.Raw,
		price(p.Hourly), price(p.Monthly), price(p.Quarterly), price(p.SemiAnnual), price(p.Annual), v.Default, v.Active, v.Sort); err != nil {
		return fmt.Errorf("insert value %q of option %d: %w", v.Label, optionID, err)
	}
	return nil
}

// replace makes stored group g.ID what g says, in one transaction: options
// and values with an id are updated, those without are inserted, and those
// not sent are removed. Removing an option that has selections is refused
// (CodeConflict, naming it) and nothing changes; a removed value that has
// selections is soft-deleted so they keep pointing at it.
func (s *groupStore) replace(ctx context.Context, g catalog.Group) error {
	return s.inTx(ctx, func(tx hostapi.TxID) error {
		cur, err := s.load(ctx, tx, g.ID, true)
		if err != nil {
			return err
		}
		if cur.Group.DeletedAt != nil {
			return hostapi.Errorf(hostapi.CodeNotFound, "no group %d (deleted)", g.ID)
		}
		counts, err := s.selectionCounts(ctx, tx, g.ID, true)
		if err != nil {
			return err
		}
		plan, err := planReplace(cur.Group, g, counts)
		if err != nil {
			return err
		}
		if err := s.apply(ctx, tx, g, plan); err != nil {
			return err
		}
		return s.record(ctx, tx, "configoptions.group_updated", g.ID, fmt.Sprintf("group %q (%s) saved with %d options", g.Name, g.Mode, len(g.Options)))
	})
}

// replacePlan is what replace removes, decided before anything is written.
type replacePlan struct {
	// deleteOptions have no selections; their values go with them.
	deleteOptions []uint64
	// deleteValues and retireValues belong to kept options and were not
	// sent: the first have no selections and are deleted, the second have
	// some and are soft-deleted.
	deleteValues map[uint64][]uint64
	retireValues map[uint64][]uint64
}

// storageShape groups option types by the selection column they fill: a
// type may change within its shape (dropdown to radio) while selections
// exist, but not across (a quantity cannot become a value).
func storageShape(t catalog.OptionType) string {
	switch t {
	case catalog.Quantity, catalog.Slider:
		return "quantity"
	case catalog.Text:
		return "text"
	}
	return "value"
}

// planReplace checks the ids of next against the stored group cur and
// decides what to remove. It refuses ids that are not cur's (an option id of
// another group, a value id of another option or a deleted value), the
// removal of options that have selections, and a change of an option's
// type across storage shapes while it has selections.
func planReplace(cur, next catalog.Group, counts selectionCounts) (replacePlan, error) {
	plan := replacePlan{deleteValues: map[uint64][]uint64{}, retireValues: map[uint64][]uint64{}}
	stored := make(map[uint64]catalog.Option, len(cur.Options))
	for _, o := range cur.Options {
		stored[o.ID] = o
	}
	sent := map[uint64]bool{}
	for i, o := range next.Options {
		if o.ID == 0 {
			continue
		}
		old, ok := stored[o.ID]
		if !ok {
			return plan, hostapi.Invalid(fmt.Sprintf("options[%d].id", i), "option %d is not an option of group %d", o.ID, cur.ID)
		}
		sent[o.ID] = true
		if n := counts.ByOption[o.ID]; n > 0 && storageShape(o.Type) != storageShape(old.Type) {
			return plan, hostapi.Errorf(hostapi.CodeConflict, "option %q (id %d) has %d selections: its type cannot change from %s to %s",
				old.Name, o.ID, n, old.Type, o.Type)
		}
		live := map[uint64]bool{}
		for _, v := range old.Values {
			if !v.Deleted {
				live[v.ID] = true
			}
		}
		sentValues := map[uint64]bool{}
		for j, v := range o.Values {
			if v.ID == 0 {
				continue
			}
			if !live[v.ID] {
				return plan, hostapi.Invalid(fmt.Sprintf("options[%d].values[%d].id", i, j), "value %d is not a value of option %d", v.ID, o.ID)
			}
			sentValues[v.ID] = true
		}
		for _, v := range old.Values {
			switch {
			case v.Deleted || sentValues[v.ID]:
			case counts.ByValue[v.ID] > 0:
				plan.retireValues[o.ID] = append(plan.retireValues[o.ID], v.ID)
			default:
				plan.deleteValues[o.ID] = append(plan.deleteValues[o.ID], v.ID)
			}
		}
	}
	var refused []string
	for _, o := range cur.Options {
		if sent[o.ID] {
			continue
		}
		if n := counts.ByOption[o.ID]; n > 0 {
			refused = append(refused, fmt.Sprintf("%q (id %d, %d selections)", o.Name, o.ID, n))
			continue
		}
		plan.deleteOptions = append(plan.deleteOptions, o.ID)
	}
	if len(refused) > 0 {
		return plan, hostapi.Errorf(hostapi.CodeConflict, "option %s cannot be removed while services hold it: deactivate it instead",
			strings.Join(refused, ", option "))
	}
	return plan, nil
}

// apply writes g over the stored group in tx, following plan.
func (s *groupStore) apply(ctx context.Context, tx hostapi.TxID, g catalog.Group, plan replacePlan) error {
	now := s.timestamp()
	if _, err := s.db.Exec(ctx, tx, updateGroup, g.Name, g.Description, string(g.Mode), nullString(g.ServiceType), g.Active, g.Sort, now, g.ID); err != nil {
		return fmt.Errorf("update group %d: %w", g.ID, err)
	}
	if _, err := s.db.Exec(ctx, tx, deleteGroupProducts, g.ID); err != nil {
		return fmt.Errorf("unlink products of group %d: %w", g.ID, err)
	}
	if err := s.insertProducts(ctx, tx, g.ID, g.ProductIDs); err != nil {
		return err
	}
	for _, id := range plan.deleteOptions {
		if _, err := s.db.Exec(ctx, tx, deleteOptionValues, id); err != nil {
			return fmt.Errorf("delete values of option %d: %w", id, err)
		}
		if _, err := s.db.Exec(ctx, tx, deleteOption, id, g.ID); err != nil {
			return fmt.Errorf("delete option %d: %w", id, err)
		}
	}
	for _, o := range g.Options {
		if o.ID == 0 {
			if _, err := s.insertOption(ctx, tx, g.ID, o); err != nil {
				return err
			}
			continue
		}
		p := o.UnitPrices
		if _, err := s.db.Exec(ctx, tx, updateOption, o.Name, o.Description, string(o.Type), o.ProvisioningKey, o.Required, o.Active,
			o.Min, o.Max, o.Step, o.Unit, price(p.Hourly), price(p.Monthly), price(p.Quarterly), price(p.SemiAnnual), price(p.Annual), o.Sort,
			o.ID, g.ID); err != nil {
			return fmt.Errorf("update option %d: %w", o.ID, err)
		}
		for _, id := range plan.retireValues[o.ID] {
			if _, err := s.db.Exec(ctx, tx, retireValue, now, id, o.ID); err != nil {
				return fmt.Errorf("soft-delete value %d: %w", id, err)
			}
		}
		for _, id := range plan.deleteValues[o.ID] {
			if _, err := s.db.Exec(ctx, tx, deleteValue, id, o.ID); err != nil {
				return fmt.Errorf("delete value %d: %w", id, err)
			}
		}
		for _, v := range o.Values {
			if v.ID == 0 {
				if err := s.insertValue(ctx, tx, o.ID, v); err != nil {
					return err
				}
				continue
			}
			vp := v.Prices
			if _, err := s.db.Exec(ctx, tx, updateValue, v.Label, v.Raw, price(vp.Hourly), price(vp.Monthly), price(vp.Quarterly),
				price(vp.SemiAnnual), price(vp.Annual), v.Default, v.Active, v.Sort, v.ID, o.ID); err != nil {
				return fmt.Errorf("update value %d: %w", v.ID, err)
			}
		}
	}
	return nil
}

// softDelete marks group id deleted and returns when. It is refused
// (CodeConflict) while any of the group's options has selections: a client
// holding them must keep seeing a live group.
func (s *groupStore) softDelete(ctx context.Context, id uint64) (time.Time, error) {
	now := s.timestamp()
	err := s.inTx(ctx, func(tx hostapi.TxID) error {
		rows, err := s.db.Query(ctx, tx, selectGroupForUpdate, id)
		if err != nil {
			return fmt.Errorf("lock group %d: %w", id, err)
		}
		if rows.Len() == 0 {
			return hostapi.Errorf(hostapi.CodeNotFound, "no group %d", id)
		}
		rec, err := scanGroup(rows, 0)
		if err != nil {
			return err
		}
		if rec.Group.DeletedAt != nil {
			return hostapi.Errorf(hostapi.CodeNotFound, "no group %d (already deleted)", id)
		}
		counts, err := s.selectionCounts(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if counts.Total > 0 {
			return hostapi.Errorf(hostapi.CodeConflict, "group %q (id %d) has %d selections on %d options: it cannot be deleted while services hold them; deactivate it instead",
				rec.Group.Name, id, counts.Total, len(counts.ByOption))
		}
		if _, err := s.db.Exec(ctx, tx, softDeleteGroup, now, now, id); err != nil {
			return fmt.Errorf("delete group %d: %w", id, err)
		}
		return s.record(ctx, tx, "configoptions.group_deleted", id, fmt.Sprintf("group %q deleted", rec.Group.Name))
	})
	return now, err
}

// seedOutcome says what seeding did with one group.
type seedOutcome struct {
	ID      uint64
	Name    string
	Mode    catalog.GroupMode
	Created bool
}

// seed creates, in one transaction, each of groups that has no live group
// of the same name and mode yet. A second seed finds them all and changes
// nothing.
func (s *groupStore) seed(ctx context.Context, groups []catalog.Group) ([]seedOutcome, error) {
	var out []seedOutcome
	err := s.inTx(ctx, func(tx hostapi.TxID) error {
		out = out[:0]
		now := s.timestamp()
		for _, g := range groups {
			rows, err := s.db.Query(ctx, tx, selectLiveGroupByNameMode, g.Name, string(g.Mode))
			if err != nil {
				return fmt.Errorf("find seeded group %q: %w", g.Name, err)
			}
			if rows.Len() > 0 {
				var id uint64
				if err := rows.Scan(0, &id); err != nil {
					return hostapi.Errorf(hostapi.CodeInternal, "read seeded group %q: %w", g.Name, err)
				}
				out = append(out, seedOutcome{ID: id, Name: g.Name, Mode: g.Mode})
				continue
			}
			id, err := s.insert(ctx, tx, g, now)
			if err != nil {
				return err
			}
			if err := s.record(ctx, tx, "configoptions.group_seeded", id, fmt.Sprintf("example group %q (%s) seeded", g.Name, g.Mode)); err != nil {
				return err
			}
			out = append(out, seedOutcome{ID: id, Name: g.Name, Mode: g.Mode, Created: true})
		}
		return nil
	})
	return out, err
}

// price is a price column's argument: NULL when the price is not offered.
func price(d *decimal.Decimal) any {
	if d == nil {
		return nil
	}
	return *d
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Column limits of the tables, checked before writing so that an oversized
// field is refused by name (CodeInvalid) on every engine rather than
// truncated or refused with a bare SQL error.
const (
	maxNameLen        = catalog.MaxNameLength // VARCHAR(255): names, labels, raw values
	maxTextBytes      = 65535
	maxModeLen        = 16
	maxServiceTypeLen = 32
	maxTypeLen        = 16
	maxProvisionLen   = 64
	maxUnitLen        = 32
	maxSort           = 1<<31 - 1
	minSort           = -1 << 31
)

// checkStorable refuses what the tables cannot hold as given: strings longer
// than their columns or with control characters (hostapi.CheckText;
// descriptions may hold newlines and tabs), sorts outside INT, a product listed twice, an option
// or value id sent twice. Business rules are catalog.ValidateGroup's.
func checkStorable(g catalog.Group) error {
	fits := func(field, s string, max int) error { return hostapi.CheckText(field, s, max, false) }
	text := func(field, s string) error {
		if len(s) > maxTextBytes {
			return hostapi.Invalid(field, "is %d bytes long, at most %d fit", len(s), maxTextBytes)
		}
		return hostapi.CheckText(field, s, maxTextBytes, true)
	}
	sortFits := func(field string, n int) error {
		if n < minSort || n > maxSort {
			return hostapi.Invalid(field, "must be between %d and %d", minSort, maxSort)
		}
		return nil
	}
	checks := []error{
		fits("name", g.Name, maxNameLen), text("description", g.Description), fits("mode", string(g.Mode), maxModeLen),
		fits("service_type", g.ServiceType, maxServiceTypeLen), sortFits("sort", g.Sort),
	}
	products := map[uint64]bool{}
	for i, p := range g.ProductIDs {
		if products[p] {
			checks = append(checks, hostapi.Invalid(fmt.Sprintf("product_ids[%d]", i), "product %d is listed twice", p))
		}
		products[p] = true
	}
	options, values := map[uint64]bool{}, map[uint64]bool{}
	for i, o := range g.Options {
		f := fmt.Sprintf("options[%d].", i)
		if o.ID != 0 && options[o.ID] {
			checks = append(checks, hostapi.Invalid(f+"id", "option %d is sent twice", o.ID))
		}
		options[o.ID] = true
		checks = append(checks, fits(f+"name", o.Name, maxNameLen), text(f+"description", o.Description), fits(f+"type", string(o.Type), maxTypeLen),
			fits(f+"provisioning_key", o.ProvisioningKey, maxProvisionLen), fits(f+"unit", o.Unit, maxUnitLen), sortFits(f+"sort", o.Sort))
		for j, v := range o.Values {
			vf := fmt.Sprintf("%svalues[%d].", f, j)
			if v.ID != 0 && values[v.ID] {
				checks = append(checks, hostapi.Invalid(vf+"id", "value %d is sent twice", v.ID))
			}
			values[v.ID] = true
			checks = append(checks, fits(vf+"label", v.Label, maxNameLen), fits(vf+"raw", v.Raw, maxNameLen), sortFits(vf+"sort", v.Sort))
		}
	}
	return hostapi.JoinInvalid(checks...)
}
