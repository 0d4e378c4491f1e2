package demo

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/internal/auth"
	"github.com/upsell-io/upsell/internal/daemon"
)

// panelPath is where the demo's stand-in for the billing panel lives, on
// the daemon's own listener: the client area (with the bridge's "Upgrade
// resources", "Change options" and checkout routes) and invoice pages with
// a demo gateway, so `upsell demo --serve` can be clicked through from the
// panel to the pages and back without a Paymenter install. It is demo-only
// and acts as the one seeded client, signed in.
const panelPath = "/demo-panel"

type demoPanel struct {
	d       *daemon.Daemon
	db      *sqlx.DB
	userID  uint64
	service uint64
	// services are the client's other services (one ordered with options).
	services []uint64
	secret   []byte
	ttl      time.Duration
}

var panelPage = template.Must(template.New("panel").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Demo panel</title><link rel="stylesheet" href="/assets/upsell.css"><link rel="stylesheet" href="/assets/theme.css"></head>
<body><header class="site"><span class="brand">Demo panel (stands in for Paymenter)</span><a class="back" href="{{.Base}}/">Client area</a></header>
<main id="main"><h1>{{.Title}}</h1>
{{if .Invoice}}{{with .Invoice}}
<dl class="facts"><dt>Invoice</dt><dd>#{{.Number}}</dd><dt>Status</dt><dd>{{.Status}}</dd><dt>Total</dt><dd>{{.Total.StringFixed 2}} {{.Currency}}</dd></dl>
<div class="table-wrap"><table><thead><tr><th>Item</th><th class="num">Price</th></tr></thead><tbody>
{{range .Items}}<tr><td>{{.Description}}</td><td class="num">{{.Price.StringFixed 2}}</td></tr>{{end}}
</tbody></table></div>{{end}}
{{if eq (printf "%s" .Invoice.Status) "pending"}}<form method="post" action="{{.Base}}/invoices/{{.Invoice.ID}}/pay" class="actions"><button type="submit">Pay now with the demo gateway</button></form>
{{else}}<p class="notice ok" role="status">Paid. upsell applies the add-on within seconds.</p>{{end}}
<p class="actions"><a class="button secondary" href="{{.Base}}/services/{{.Service}}/upgrade">Back to Upgrade resources</a></p>
{{else}}
<div class="card"><h2>Service #{{.Service}}</h2><p>Your game server.</p>
<p class="actions"><a class="button" href="{{.Base}}/services/{{.Service}}/upgrade">Upgrade resources</a></p></div>
{{range .Others}}<div class="card"><h2>Service #{{.}}</h2><p>Your game server, ordered with options.</p>
<p class="actions"><a class="button" href="{{$.Base}}/services/{{.}}/upgrade">Upgrade resources</a>
<a class="button secondary" href="{{$.Base}}/services/{{.}}/options">Change options</a></p></div>{{end}}
<p class="actions"><a class="button secondary" href="/m/configoptions/configure">Build your own server</a>
<a class="button secondary" href="{{.Base}}/admin/upsell">Admin: Upsell console</a></p>
{{end}}
</main></body></html>`))

func (p *demoPanel) routes(mux interface {
	Handle(string, http.Handler)
}) {
	mux.Handle("GET "+panelPath+"/{$}", http.HandlerFunc(p.home))
	mux.Handle("GET "+panelPath+"/services/{id}/upgrade", p.toPage("/m/microupsell/shop"))
	mux.Handle("GET "+panelPath+"/services/{id}/options", p.toPage("/m/configoptions/change"))
	mux.Handle("GET "+panelPath+"/invoices/{id}", http.HandlerFunc(p.invoice))
	mux.Handle("POST "+panelPath+"/invoices/{id}/pay", http.HandlerFunc(p.pay))
	mux.Handle("GET "+panelPath+"/upsell/checkout", http.HandlerFunc(p.checkout))
	mux.Handle("GET "+panelPath+"/admin/upsell", http.HandlerFunc(p.console))
}

// demoAdminID is the demo panel's admin, as the bridge's admin route names
// the signed-in admin.
const demoAdminID = 1

// console is the bridge's admin route: sign an admin link and open the
// console.
func (p *demoPanel) console(w http.ResponseWriter, r *http.Request) {
	token := auth.SignAdminLink(auth.AdminLinkKey(p.secret), auth.NewAdminLink(demoAdminID, time.Now(), 2*time.Minute))
	http.Redirect(w, r, "/console/?link="+url.QueryEscape(token), http.StatusSeeOther)
}

type panelData struct {
	Title   string
	Base    string
	Service uint64
	Others  []uint64
	Invoice any
}

func (p *demoPanel) render(w http.ResponseWriter, data panelData) {
	data.Base, data.Service, data.Others = panelPath, p.service, p.services
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'")
	_ = panelPage.Execute(w, data)
}

func (p *demoPanel) home(w http.ResponseWriter, _ *http.Request) {
	p.render(w, panelData{Title: "Your services"})
}

// toPage is the bridge's route: sign a fresh link for the service and send
// the browser to the daemon's page.
func (p *demoPanel) toPage(page string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
		if err != nil || (id != p.service && !slices.Contains(p.services, id)) {
			http.NotFound(w, r)
			return
		}
		token := auth.SignLink(p.secret, auth.NewLink(p.userID, id, time.Now(), p.ttl))
		http.Redirect(w, r, page+"?link="+url.QueryEscape(token), http.StatusSeeOther)
	})
}

// checkout is the bridge's sign-in round trip: the demo client is signed
// in, so it signs a user link at once.
func (p *demoPanel) checkout(w http.ResponseWriter, r *http.Request) {
	next := r.URL.Query().Get("next")
	if !strings.HasPrefix(next, "/m/configoptions/checkout") || strings.ContainsAny(next, "\\\r\n") || strings.Contains(next, "//") {
		http.Error(w, "not a checkout address", http.StatusBadRequest)
		return
	}
	token := auth.SignLink(p.secret, auth.NewLink(p.userID, 0, time.Now(), p.ttl))
	sep := "?"
	if strings.Contains(next, "?") {
		sep = "&"
	}
	http.Redirect(w, r, next+sep+"link="+url.QueryEscape(token), http.StatusSeeOther)
}

func (p *demoPanel) invoice(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	inv, err := p.d.Panel.Invoice(r.Context(), id)
	if err != nil || inv.UserID != p.userID {
		http.NotFound(w, r)
		return
	}
	p.render(w, panelData{Title: "Invoice #" + inv.Number, Invoice: inv})
}

func (p *demoPanel) pay(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	inv, err := p.d.Panel.Invoice(r.Context(), id)
	if err != nil || inv.UserID != p.userID {
		http.NotFound(w, r)
		return
	}
	if string(inv.Status) == "pending" {
		if err := payInvoice(r.Context(), p.db, inv); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	http.Redirect(w, r, panelPath+"/invoices/"+strconv.FormatUint(id, 10), http.StatusSeeOther)
}
