package configoptions

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/money"
	"github.com/upsell-io/upsell/plugin/configoptions/catalog"
)

// catalogTTL is how long the public quote reuses the catalog it read. The
// quote runs on every slider move of a pricing page; groups change rarely,
// and this replica's admin writes refresh it at once. Checkout always reads
// the database, so a price never comes from a stale snapshot.
const catalogTTL = 5 * time.Second

// catalogSnapshot holds the live groups with their options and values.
type catalogSnapshot struct {
	mu     sync.Mutex
	at     time.Time
	groups []catalog.Group
}

// catalog returns the live groups, read at most catalogTTL ago.
func (m *Module) catalog(ctx context.Context) ([]catalog.Group, error) {
	m.snapshot.mu.Lock()
	defer m.snapshot.mu.Unlock()
	if !m.snapshot.at.IsZero() && m.now().Sub(m.snapshot.at) < catalogTTL {
		return m.snapshot.groups, nil
	}
	groups, err := m.loadCatalog(ctx)
	if err != nil {
		return nil, err
	}
	m.snapshot.at, m.snapshot.groups = m.now(), groups
	return groups, nil
}

// loadCatalog reads the live groups now: a checkout sells at today's
// prices, never at a snapshot's.
func (m *Module) loadCatalog(ctx context.Context) ([]catalog.Group, error) {
	store, err := m.groups()
	if err != nil {
		return nil, err
	}
	sums, err := store.list(ctx, groupFilter{})
	if err != nil {
		return nil, err
	}
	groups := make([]catalog.Group, 0, len(sums))
	for _, sum := range sums {
		rec, _, err := store.group(ctx, sum.Group.ID)
		if err != nil {
			return nil, err
		}
		groups = append(groups, rec.Group)
	}
	return groups, nil
}

// forgetCatalog makes the next quote read the catalog again; admin writes
// call it.
func (m *Module) forgetCatalog() {
	m.snapshot.mu.Lock()
	m.snapshot.at = time.Time{}
	m.snapshot.mu.Unlock()
}

// quoteRequest is what a pricing page sends: a product's preset options, or
// a Build-Your-Own service type, with the client's choices.
type quoteRequest struct {
	ProductID   uint64        `json:"product_id"`
	ServiceType string        `json:"service_type"`
	Choices     []choiceInput `json:"choices"`
}

type choiceInput struct {
	OptionID uint64 `json:"option_id"`
	ValueID  uint64 `json:"value_id"`
	Quantity int64  `json:"quantity"`
	Text     string `json:"text"`
}

// quoteLine is one option of a quote or an order on the wire: its price
// per term with exactly 2 decimals ("12.00"), its hourly price with 4
// ("0.0030"), left out when the option has no hourly price (it then adds
// nothing to the hourly rate).
type quoteLine struct {
	OptionID uint64            `json:"option_id"`
	Option   string            `json:"option"`
	Value    string            `json:"value"`
	Prices   map[string]string `json:"prices"`
	Hourly   string            `json:"hourly,omitempty"`
}

// quoteResponse is the public quote on the wire. Amounts carry exactly 2
// decimals, the hourly rate 4. HourlyRate is left out when the selection
// has no hourly quote, MonthlyCap when an option has no monthly price
// (Unpriced says why); MonthlyCap is the options' monthly total, what a
// month costs at most, in both modes.
type quoteResponse struct {
	Mode       catalog.GroupMode `json:"mode"`
	Lines      []quoteLine       `json:"lines"`
	Totals     map[string]string `json:"totals"`
	Unpriced   map[string]string `json:"unpriced,omitempty"`
	HourlyRate string            `json:"hourly_rate,omitempty"`
	MonthlyCap string            `json:"monthly_cap,omitempty"`
}

// hourlyText is an hourly price or rate on the wire: 4 decimals, as the
// hourly columns hold (a rate of whole quantities of them has no more).
func hourlyText(d decimal.Decimal) string { return d.StringFixed(hourlyPlaces) }

// cycleTerms are the terms a quote shows totals for.
var cycleTerms = []catalog.Term{catalog.Monthly, catalog.Quarterly, catalog.SemiAnnual, catalog.Annual}

// selectGroups picks the groups a request is about.
func selectGroups(all []catalog.Group, req quoteRequest) ([]catalog.Group, catalog.GroupMode, error) {
	switch {
	case req.ProductID != 0 && req.ServiceType != "":
		return nil, "", hostapi.Invalid("product_id", "give a product or a service type, not both")
	case req.ProductID != 0:
		var out []catalog.Group
		for _, g := range all {
			if g.Mode == catalog.Preset && g.Active && containsID(g.ProductIDs, req.ProductID) {
				out = append(out, g)
			}
		}
		if len(out) == 0 {
			return nil, "", hostapi.Errorf(hostapi.CodeNotFound, "product %d has no configurable options", req.ProductID)
		}
		return out, catalog.Preset, nil
	case req.ServiceType != "":
		for _, g := range all {
			if g.Mode == catalog.BuildYourOwn && g.Active && g.ServiceType == req.ServiceType {
				return []catalog.Group{g}, catalog.BuildYourOwn, nil
			}
		}
		return nil, "", hostapi.Errorf(hostapi.CodeNotFound, "no build-your-own configurator for %q", req.ServiceType)
	}
	return nil, "", hostapi.Invalid("product_id", "a product_id or a service_type is required")
}

func containsID(ids []uint64, id uint64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// publicQuote prices a selection for a pricing page: lines, a total per
// term, the hourly rate and the monthly cap. Anyone may call it; it writes
// nothing.
func (m *Module) publicQuote(ctx context.Context, req hostapi.HTTPRequest, _ uint64) (hostapi.HTTPResponse, error) {
	var in quoteRequest
	if err := hostapi.DecodeJSON(req.Body, &in); err != nil {
		return hostapi.HTTPResponse{}, err
	}
	all, err := m.catalog(ctx)
	if err != nil {
		return hostapi.HTTPResponse{}, err
	}
	groups, mode, err := selectGroups(all, in)
	if err != nil {
		return hostapi.HTTPResponse{}, err
	}
	choices := make([]catalog.Choice, len(in.Choices))
	for i, c := range in.Choices {
		choices[i] = catalog.Choice{OptionID: c.OptionID, ValueID: c.ValueID, Quantity: c.Quantity, Text: c.Text}
	}
	sel, err := catalog.Validate(groups, choices)
	if err != nil {
		return hostapi.HTTPResponse{}, err
	}
	priceFor := catalog.Price
	if mode == catalog.BuildYourOwn {
		priceFor = catalog.PriceBYO
	}
	out := quoteResponse{Mode: mode, Totals: map[string]string{}}
	lineAt := map[uint64]int{}
	for _, t := range cycleTerms {
		q, err := priceFor(sel, t)
		if err != nil {
			if out.Unpriced == nil {
				out.Unpriced = map[string]string{}
			}
			out.Unpriced[string(t)] = err.Error()
			continue
		}
		out.Totals[string(t)] = money.Format(q.Total)
		for _, l := range q.Lines {
			i, ok := lineAt[l.OptionID]
			if !ok {
				out.Lines = append(out.Lines, quoteLine{OptionID: l.OptionID, Option: l.Option, Value: l.Value, Prices: map[string]string{}})
				i = len(out.Lines) - 1
				lineAt[l.OptionID] = i
			}
			out.Lines[i].Prices[string(t)] = money.Format(l.Price)
		}
	}
	monthlyCap, capped, err := catalog.MonthlyCap(sel)
	if err != nil {
		return hostapi.HTTPResponse{}, err
	}
	if capped {
		out.MonthlyCap = money.Format(monthlyCap)
	}
	if hq, err := priceFor(sel, catalog.Hourly); err == nil {
		out.HourlyRate = hourlyText(hq.HourlyRate)
		for _, l := range hq.Lines {
			if i, ok := lineAt[l.OptionID]; ok && !l.NoHourlyPrice {
				out.Lines[i].Hourly = hourlyText(l.Hourly)
			}
		}
	} else {
		if out.Unpriced == nil {
			out.Unpriced = map[string]string{}
		}
		out.Unpriced[string(catalog.Hourly)] = err.Error()
	}
	if len(out.Totals) == 0 && out.HourlyRate == "" {
		return hostapi.HTTPResponse{}, hostapi.Errorf(hostapi.CodePrecondition, "this selection has no price on any cycle")
	}
	return jsonResponse(http.StatusOK, out)
}
