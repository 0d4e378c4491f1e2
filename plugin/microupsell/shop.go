package microupsell

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/hostapi/web"
)

// The shop: the pages a client opens from their service page (a signed
// link the host exchanges for a session cookie). GET /shop shows the
// service, each add-on with what it costs today and from the next renewal,
// and the purchases so far; POST /shop/confirm re-quotes one add-on for a
// last look; POST /shop/buy places the order through placeOrder, the JSON
// route's own code, and sends the browser to the panel invoice. Every
// figure is the server's quote (quoteOffer); a form carries a package id,
// the session's CSRF token and, on the last step, an idempotency key.

//go:embed templates/*.html
var templateFS embed.FS

var shopTemplates = template.Must(template.New("shop").Funcs(web.Funcs()).ParseFS(templateFS, "templates/*.html"))

// Form fields of the shop's forms.
const (
	fieldPackage = "package_id"
	fieldKey     = "idempotency_key"
)

// shopView is the data of the shop page.
type shopView struct {
	page
	Service serviceFacts
	// Refusal says why the service cannot receive add-ons ("" when it can).
	Refusal string
	Limits  []limitFact
	// LimitsUnknown is set when the server could not be read just now.
	LimitsUnknown bool
	Packages      []packageCard
	Orders        []orderRow
	// Pending names purchases not finished yet, for the status notice.
	Pending []string
	// Notice is a refused purchase's reason.
	Notice string
}

// page is what every shop page needs to link and post back.
type page struct {
	// Root is the module's address relative to the page ("./" or "../"):
	// the host may sit behind a path prefix the module does not know.
	Root      string
	ServiceID uint64
	CSRF      string
}

type serviceFacts struct {
	Name, Product, Cycle, Renewal, Price string
}

type limitFact struct {
	Label, Value, FromAddons string
}

type packageCard struct {
	ID                  uint64
	Name, Adds          string
	Available           bool
	Reason              string
	DueToday, DueWhy    string
	NewRecurring, Raise string
	Restart             string
}

type orderRow struct {
	Name, Bought, Paid, State, StateClass, Detail, Restart string
	PayURL, Invoice                                        string
}

// confirmView is the data of the confirmation page.
type confirmView struct {
	page
	Card         packageCard
	Key          string
	CurrentPrice string
}

func newPage(r *http.Request, serviceID uint64) page {
	root := strings.Repeat("../", strings.Count(strings.TrimPrefix(r.URL.Path, "/"), "/"))
	if root == "" {
		root = "./"
	}
	return page{Root: root, ServiceID: serviceID, CSRF: web.CSRF(r)}
}

// shopPage is GET /shop.
func (m *Module) shopPage(w http.ResponseWriter, r *http.Request) {
	m.renderShop(w, r, http.StatusOK, "")
}

// renderShop answers with the shop page, with notice as a refused
// purchase's reason.
func (m *Module) renderShop(w http.ResponseWriter, r *http.Request, status int, notice string) {
	ctx := r.Context()
	req := hostapi.RequestOf(r)
	o, err := m.quoteOffer(ctx, *req)
	refusal := ""
	if err != nil {
		if hostapi.CodeOf(err) != hostapi.CodePrecondition || o.Service.ID == 0 {
			hostapi.Fail(w, err)
			return
		}
		refusal = whyNot(o.Service, err)
	} else {
		refusal = expiryRefusal(o.Service, m.now())
	}
	v := shopView{page: newPage(r, req.Principal.ServiceID), Service: facts(o.Service), Refusal: refusal, Notice: notice}
	if refusal == "" {
		for _, q := range o.Packages {
			v.Packages = append(v.Packages, card(q, o.Service))
		}
	}
	// The server's limits (a round trip to the control panel) and the
	// history are read at the same time: the page waits for the slower.
	var wg sync.WaitGroup
	var limitsErr error
	wg.Go(func() { v.Limits, limitsErr = m.limitFacts(ctx, req, o.Service.ID) })
	v.Orders, v.Pending, err = m.orderRows(ctx, req, o.Service)
	wg.Wait()
	if limitsErr != nil {
		// The page still sells: the limits are shown when the server
		// answers again.
		v.LimitsUnknown = true
	}
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	web.Render(w, r, status, shopTemplates, "shop.html", "Add-ons for "+v.Service.Name, v)
}

// shopConfirm is POST /shop/confirm: the chosen add-on quoted again, and
// the form that buys it with a fresh idempotency key.
func (m *Module) shopConfirm(w http.ResponseWriter, r *http.Request) {
	pkgID, _, err := readShopForm(r, false)
	if err != nil {
		m.refuse(w, r, err)
		return
	}
	req := hostapi.RequestOf(r)
	o, err := m.quoteOffer(r.Context(), *req)
	if err == nil {
		if refusal := expiryRefusal(o.Service, m.now()); refusal != "" {
			err = hostapi.Errorf(hostapi.CodePrecondition, "%s", refusal)
		}
	}
	if err != nil {
		m.refuse(w, r, err)
		return
	}
	var q *quoteView
	for i := range o.Packages {
		if o.Packages[i].PackageID == pkgID {
			q = &o.Packages[i]
		}
	}
	switch {
	case q == nil:
		m.refuse(w, r, hostapi.Errorf(hostapi.CodeNotFound, "no package %d for this service", pkgID))
		return
	case !q.Available:
		m.refuse(w, r, hostapi.Errorf(hostapi.CodePrecondition, "%s", q.Reason))
		return
	}
	key, err := newKey()
	if err != nil {
		hostapi.Fail(w, err)
		return
	}
	c := card(*q, o.Service)
	v := confirmView{page: newPage(r, req.Principal.ServiceID), Card: c, Key: key,
		CurrentPrice: web.Money(o.Service.Price, o.Service.Currency) + " " + per(o.Service.Cycle)}
	web.Render(w, r, http.StatusOK, shopTemplates, "confirm.html", "Confirm "+q.Name, v)
}

// shopBuy is POST /shop/buy: the order placed exactly as POST /orders
// places it, then the browser sent to the panel invoice. The same form
// posted twice (a double click, the back button) carries the same key and
// makes one order.
func (m *Module) shopBuy(w http.ResponseWriter, r *http.Request) {
	pkgID, key, err := readShopForm(r, true)
	if err != nil {
		m.refuse(w, r, err)
		return
	}
	req := hostapi.RequestOf(r)
	o, _, err := m.placeOrder(r.Context(), *req, key, pkgID)
	if err != nil {
		m.refuse(w, r, err)
		return
	}
	pay := o.PayURL
	if pay == "" && o.InvoiceID != 0 {
		// The key's order from an earlier submit: its invoice says where.
		h, _ := m.deps()
		inv, err := h.Panel.Invoice(r.Context(), o.InvoiceID)
		if err != nil {
			hostapi.Fail(w, err)
			return
		}
		pay = inv.PayURL
	}
	if pay == "" {
		pay = newPage(r, req.Principal.ServiceID).Root + "shop?service=" + strconv.FormatUint(req.Principal.ServiceID, 10)
	}
	web.SeeOther(w, pay)
}

// readShopForm reads a shop form: the package and, for the last step, the
// idempotency key. A form with any other field (a price, a quantity) was
// not made by the shop and is refused: the price is the server's.
func readShopForm(r *http.Request, withKey bool) (uint64, string, error) {
	form, err := web.Form(r)
	if err != nil {
		return 0, "", err
	}
	for name := range form {
		switch {
		case name == web.CSRFField, name == fieldPackage, withKey && name == fieldKey:
		default:
			return 0, "", hostapi.Invalid(name, "not a field of this form")
		}
		if len(form[name]) != 1 {
			return 0, "", hostapi.Invalid(name, "given more than once")
		}
	}
	id, err := strconv.ParseUint(form.Get(fieldPackage), 10, 64)
	if err != nil || id == 0 {
		return 0, "", hostapi.Invalid(fieldPackage, "not a package id")
	}
	if !withKey {
		return id, "", nil
	}
	key, err := idempotencyKey(fieldKey, form.Get(fieldKey))
	return id, key, err
}

// refuse answers a refused purchase with the shop page and the reason in
// its notice; nothing was changed. What is not a refusal (the panel or the
// database unreachable, a broken link) goes to the host's error page.
func (m *Module) refuse(w http.ResponseWriter, r *http.Request, err error) {
	var status int
	var msg string
	switch hostapi.CodeOf(err) {
	case hostapi.CodeInvalid:
		status, msg = http.StatusUnprocessableEntity, "This form was changed or is incomplete, so nothing was ordered. Choose the add-on again below."
	case hostapi.CodeNotFound:
		status, msg = http.StatusUnprocessableEntity, "That add-on is not offered for this service, so nothing was ordered."
	case hostapi.CodePrecondition, hostapi.CodeConflict:
		status, msg = http.StatusConflict, sentence(message(err))+" Nothing was ordered."
	case hostapi.CodeCapacity:
		status, msg = http.StatusConflict, "The machine your server runs on has no room for this add-on right now, so nothing was ordered. Please contact support."
	default:
		hostapi.Fail(w, err)
		return
	}
	m.renderShop(w, r, status, msg)
}

// message is an error's own words, without the field name.
func message(err error) string {
	var e *hostapi.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return err.Error()
}

// sentence capitalises s and ends it with a full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return s
	}
	s = strings.ToUpper(s[:1]) + s[1:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func newKey() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", hostapi.Errorf(hostapi.CodeInternal, "idempotency key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// whyNot says in words why a service cannot receive add-ons.
func whyNot(svc hostapi.Service, err error) string {
	switch svc.Status {
	case hostapi.ServiceSuspended:
		return "This service is suspended, so add-ons cannot be bought for it. Once it is active again, they are offered here."
	case hostapi.ServiceCancelled:
		return "This service is cancelled. Add-ons can only be added to an active service."
	case hostapi.ServicePending:
		return "This service is not active yet. Add-ons are offered here once it is."
	}
	switch svc.Cycle.Type {
	case hostapi.PlanOneTime:
		return "This service was paid once and has no renewal, and add-ons are billed with each renewal, so none can be added to it."
	case hostapi.PlanFree:
		return "This service is free and has no renewal to add an add-on's price to, so none can be added to it."
	}
	if svc.Cycle.Unit == hostapi.UnitHour {
		return "This service is billed by the hour, so there is no billing cycle to charge an add-on for."
	}
	return sentence(message(err))
}

// expiryRefusal says why a service whose cycle cannot be prorated (no
// renewal date, or one already past) cannot receive add-ons.
func expiryRefusal(svc hostapi.Service, now time.Time) string {
	switch {
	case svc.ExpiresAt.IsZero():
		return "This service has no renewal date, so the days left in its billing cycle cannot be charged. Please contact support to buy add-ons."
	case svc.ExpiresAt.Before(now.In(svc.ExpiresAt.Location())):
		return "This service's billing cycle ended on " + svc.ExpiresAt.Format("2 Jan 2006") + ". Renew it first; add-ons are offered here again after that."
	}
	return ""
}

func facts(svc hostapi.Service) serviceFacts {
	f := serviceFacts{Name: serviceLabel(svc), Product: svc.ProductName, Cycle: cycleWords(svc.Cycle)}
	if !svc.ExpiresAt.IsZero() {
		f.Renewal = svc.ExpiresAt.Format("2 Jan 2006")
	}
	if svc.Currency != "" {
		f.Price = web.Money(svc.Price, svc.Currency) + " " + per(svc.Cycle)
	}
	return f
}

// cycleWords is a billing cycle as clients read it: "monthly", "every 3 months".
func cycleWords(c hostapi.Cycle) string {
	switch c.Type {
	case hostapi.PlanOneTime:
		return "one-time"
	case hostapi.PlanFree:
		return "free"
	}
	if c.Period == 1 {
		switch c.Unit {
		case hostapi.UnitDay:
			return "daily"
		case hostapi.UnitWeek:
			return "weekly"
		case hostapi.UnitMonth:
			return "monthly"
		case hostapi.UnitYear:
			return "yearly"
		}
	}
	return "every " + web.Plural(int64(c.Period), string(c.Unit), string(c.Unit)+"s")
}

// per is a recurring price's period: "/ month", "every 3 months".
func per(c hostapi.Cycle) string {
	if c.Type != hostapi.PlanRecurring {
		return ""
	}
	if c.Period == 1 {
		return "/ " + string(c.Unit)
	}
	return "every " + web.Plural(int64(c.Period), string(c.Unit), string(c.Unit)+"s")
}

func card(q quoteView, svc hostapi.Service) packageCard {
	r := hostapi.Resource(q.Resource)
	c := packageCard{ID: q.PackageID, Name: q.Name, Adds: amountWords(r, q.Amount), Available: q.Available, Restart: restartHint(r, false)}
	if !q.Available {
		c.Reason = sentence(q.Reason)
		return c
	}
	c.DueToday = q.DueToday + " " + q.Currency
	c.DueWhy = fmt.Sprintf("%d of %d days left in this billing cycle", q.DaysLeft, q.DaysInCycle)
	c.NewRecurring = q.NewRecurringPrice + " " + q.Currency + " " + per(svc.Cycle) + " from " + svc.ExpiresAt.Format("2 Jan 2006")
	c.Raise = "+" + q.RecurringIncrease + " " + q.Currency + " " + per(svc.Cycle)
	return c
}

// restartHint says when an add-on takes effect only after a server
// restart: a game reads its memory when it starts (Wings raises the
// container's limit live, the game's own -Xmx is not), and a new port is
// bound when the container is created. applied words it for an add-on
// already on the server.
func restartHint(r hostapi.Resource, applied bool) string {
	when := "once it is applied "
	if applied {
		when = ""
	}
	switch r {
	case hostapi.MemoryMiB, hostapi.SwapMiB:
		return "Restart your server " + when + "so the game can use the new memory."
	case hostapi.Ports:
		return "Restart your server " + when + "so the new port is opened."
	}
	return ""
}

// resourceNames are the resources the shop lists, in order, with their
// labels.
var resourceNames = []struct {
	Resource hostapi.Resource
	Label    string
}{
	{hostapi.MemoryMiB, "Memory"}, {hostapi.DiskMiB, "Disk"}, {hostapi.CPUPercent, "CPU"},
	{hostapi.Ports, "Ports"}, {hostapi.Databases, "Databases"}, {hostapi.Backups, "Backups"},
}

// amountWords is an amount of a resource as clients read it: "4 GB RAM",
// "200 % CPU", "2 ports".
func amountWords(r hostapi.Resource, n int64) string {
	if n == hostapi.Unlimited {
		if name, ok := unlimitedNames[r]; ok {
			return "unlimited " + name
		}
		return "unlimited " + string(r)
	}
	switch r {
	case hostapi.MemoryMiB:
		return web.MiB(n) + " RAM"
	case hostapi.SwapMiB:
		return web.MiB(n) + " swap"
	case hostapi.DiskMiB:
		return web.MiB(n) + " disk"
	case hostapi.CPUPercent:
		return strconv.FormatInt(n, 10) + " % CPU"
	case hostapi.Ports:
		return web.Plural(n, "port", "ports")
	case hostapi.Databases:
		return web.Plural(n, "database", "databases")
	case hostapi.Backups:
		return web.Plural(n, "backup", "backups")
	}
	return strconv.FormatInt(n, 10) + " " + string(r)
}

// unlimitedNames name a resource without a limit: "unlimited RAM".
var unlimitedNames = map[hostapi.Resource]string{
	hostapi.MemoryMiB: "RAM", hostapi.SwapMiB: "swap", hostapi.DiskMiB: "disk", hostapi.CPUPercent: "CPU",
	hostapi.Ports: "ports", hostapi.Databases: "databases", hostapi.Backups: "backups",
}

// limitWords is a server's current limit: Pterodactyl's 0 memory, disk or
// CPU means no limit.
func limitWords(r hostapi.Resource, n int64) string {
	if n == 0 && (r == hostapi.MemoryMiB || r == hostapi.DiskMiB || r == hostapi.CPUPercent) {
		n = hostapi.Unlimited
	}
	return amountWords(r, n)
}

const appliedByResource = `SELECT resource, CAST(SUM(amount) AS SIGNED) FROM ext_micro_upsell_order_addons
WHERE service_id = ? AND state = 'applied' GROUP BY resource`

// shopHistoryLimit is how many purchases the shop lists.
const shopHistoryLimit = 20

// selectShopHistory is the service's latest purchases, newest first.
var selectShopHistory = `SELECT ` + orderColumns + ` FROM ext_micro_upsell_order_addons
WHERE service_id = ? AND user_id = ? ORDER BY id DESC LIMIT ` + strconv.Itoa(shopHistoryLimit)

// Names of the shop page's prefetched reads.
const (
	historyPrefetch = "history"
	appliedPrefetch = "applied"
)

// prefetchedOr is the rows the host read for name, or, from a host that
// did not (before minor version 1.3), the same query run now.
func (m *Module) prefetchedOr(ctx context.Context, req *hostapi.HTTPRequest, name, query string, args ...any) (*hostapi.Rows, error) {
	if rows := req.Prefetched[name]; rows != nil {
		return rows, nil
	}
	h, _ := m.deps()
	return h.Store.Query(ctx, "", query, args...)
}

// limitFacts are the server's limits with what the applied add-ons hold
// of each.
func (m *Module) limitFacts(ctx context.Context, req *hostapi.HTTPRequest, serviceID uint64) ([]limitFact, error) {
	h, _ := m.deps()
	var cur map[hostapi.Resource]int64
	var readErr error
	var wg sync.WaitGroup
	wg.Go(func() { cur, readErr = h.Provision.Read(ctx, serviceID) })
	rows, err := m.prefetchedOr(ctx, req, appliedPrefetch, appliedByResource, serviceID)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if readErr != nil {
		return nil, readErr
	}
	held := map[hostapi.Resource]int64{}
	for i := 0; i < rows.Len(); i++ {
		var r string
		var n int64
		if err := rows.Scan(i, &r, &n); err != nil {
			return nil, hostapi.Errorf(hostapi.CodeInternal, "read add-on totals: %w", err)
		}
		held[hostapi.Resource(r)] = n
	}
	var out []limitFact
	for _, rn := range resourceNames {
		v, ok := cur[rn.Resource]
		if !ok {
			continue
		}
		f := limitFact{Label: rn.Label, Value: limitWords(rn.Resource, v)}
		if n := held[rn.Resource]; n > 0 {
			f.FromAddons = amountWords(rn.Resource, n) + " from add-ons"
		}
		out = append(out, f)
	}
	return out, nil
}

// orderRows is the service's purchase history in words, newest first, and
// the purchases not finished yet.
func (m *Module) orderRows(ctx context.Context, req *hostapi.HTTPRequest, svc hostapi.Service) ([]orderRow, []string, error) {
	h, _ := m.deps()
	history, err := m.prefetchedOr(ctx, req, historyPrefetch, selectShopHistory, svc.ID, svc.UserID)
	if err != nil {
		return nil, nil, err
	}
	os, err := readOrders(history)
	if err != nil {
		return nil, nil, err
	}
	var rows []orderRow
	var pending []string
	for _, o := range os {
		row := orderRow{Invoice: o.InvoiceNumber, Name: o.PackageName, Bought: o.CreatedAt.Format("2 Jan 2006"), Paid: web.Money(o.DueToday, o.Currency)}
		switch o.State {
		case StateAwaitingPayment:
			row.State, row.StateClass = "Awaiting payment", "wait"
			row.Detail = "Invoice " + o.InvoiceNumber + ": the add-on is applied within a minute of payment."
			if inv, err := h.Panel.Invoice(ctx, o.InvoiceID); err == nil {
				row.PayURL = inv.PayURL
			}
			pending = append(pending, o.PackageName+" is awaiting payment of invoice "+o.InvoiceNumber+".")
		case StatePaid, StateApplying:
			row.State, row.StateClass = "Applying", "wait"
			row.Detail = "Paid; your server is being updated."
			pending = append(pending, o.PackageName+" is paid and being applied to your server.")
		case StateApplied:
			row.State, row.StateClass = "Applied", "ok"
			row.Restart = restartHint(o.Resource, true)
		case StateFailed:
			row.State, row.StateClass = "Could not be applied", "bad"
			row.Detail = "Your payment is safe: support has been told and will apply the add-on or refund you."
		case StateCancelled:
			row.State, row.StateClass = "Cancelled", "muted"
			row.Detail = "Cancelled with its invoice " + o.InvoiceNumber + ": nothing is due for it."
		case StateFlagged:
			row.State, row.StateClass = "On hold", "bad"
			row.Detail = "This payment needs a check by support before anything changes." + reasonWords(o.Reason)
		default:
			row.State, row.StateClass = o.State, "wait"
		}
		rows = append(rows, row)
	}
	return rows, pending, nil
}

func reasonWords(reason string) string {
	if reason == "" {
		return ""
	}
	return " Reason: " + sentence(reason)
}
