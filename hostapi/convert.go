package hostapi

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	pb "github.com/upsell-io/upsell/hostapi/internal/upsellv1"
)

// This file converts between the domain types of this package and the wire
// types generated from the proto. Money crosses as exact decimal strings.

func decToWire(d decimal.Decimal) string { return d.String() }

func decFromWire(field, s string) (decimal.Decimal, error) {
	if s == "" {
		return decimal.Zero, nil
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero, Invalid(field, "not a decimal: %q", s)
	}
	return d, nil
}

func timeToWire(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func timeFromWire(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// localToWire encodes a wall-clock time as if it were UTC so that the zone
// travels separately and the wall clock survives any zone database.
func localToWire(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, mo, d, h, mi, s, t.Nanosecond(), time.UTC).UnixNano()
}

func localFromWire(n int64, zone string) time.Time {
	if n == 0 {
		return time.Time{}
	}
	u := time.Unix(0, n).UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), u.Hour(), u.Minute(), u.Second(), u.Nanosecond(), location(zone))
}

func cycleToWire(c Cycle) *pb.Cycle {
	return &pb.Cycle{Type: string(c.Type), Period: int32(c.Period), Unit: string(c.Unit)}
}

func cycleFromWire(c *pb.Cycle) Cycle {
	return Cycle{Type: PlanType(c.GetType()), Period: int(c.GetPeriod()), Unit: BillingUnit(c.GetUnit())}
}

func serviceToWire(s Service) *pb.Service {
	zone := ""
	if !s.ExpiresAt.IsZero() {
		zone = s.ExpiresAt.Location().String()
	}
	return &pb.Service{
		Id: s.ID, UserId: s.UserID, ProductId: s.ProductID, ProductName: s.ProductName,
		PlanId: s.PlanID, Status: string(s.Status), Currency: s.Currency,
		Quantity: int32(s.Quantity), Price: decToWire(s.Price),
		Cycle:          cycleToWire(s.Cycle),
		ExpiresAtLocal: localToWire(s.ExpiresAt), Timezone: zone,
		Label: s.Label, CreatedAt: timeToWire(s.CreatedAt),
	}
}

func serviceFromWire(w *pb.Service) (Service, error) {
	price, err := decFromWire("price", w.GetPrice())
	if err != nil {
		return Service{}, err
	}
	return Service{
		ID: w.GetId(), UserID: w.GetUserId(), ProductID: w.GetProductId(), ProductName: w.GetProductName(),
		PlanID: w.GetPlanId(), Status: ServiceStatus(w.GetStatus()), Currency: w.GetCurrency(),
		Quantity: int(w.GetQuantity()), Price: price,
		Cycle:     cycleFromWire(w.GetCycle()),
		ExpiresAt: localFromWire(w.GetExpiresAtLocal(), w.GetTimezone()),
		Label:     w.GetLabel(), CreatedAt: timeFromWire(w.GetCreatedAt()),
	}, nil
}

func userToWire(u User) *pb.User {
	return &pb.User{Id: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName}
}

func userFromWire(w *pb.User) User {
	return User{ID: w.GetId(), Email: w.GetEmail(), FirstName: w.GetFirstName(), LastName: w.GetLastName()}
}

func itemsToWire(items []InvoiceItem) []*pb.InvoiceItem {
	out := make([]*pb.InvoiceItem, len(items))
	for i, it := range items {
		out[i] = &pb.InvoiceItem{
			Id: it.ID, Description: it.Description, Price: decToWire(it.Price),
			Quantity: int32(it.Quantity), ReferenceType: it.ReferenceType, ReferenceId: it.ReferenceID,
		}
	}
	return out
}

func itemsFromWire(ws []*pb.InvoiceItem) ([]InvoiceItem, error) {
	out := make([]InvoiceItem, len(ws))
	for i, w := range ws {
		price, err := decFromWire(fmt.Sprintf("items[%d].price", i), w.GetPrice())
		if err != nil {
			return nil, err
		}
		out[i] = InvoiceItem{
			ID: w.GetId(), Description: w.GetDescription(), Price: price,
			Quantity: int(w.GetQuantity()), ReferenceType: w.GetReferenceType(), ReferenceID: w.GetReferenceId(),
		}
	}
	return out, nil
}

func invoiceToWire(inv Invoice) *pb.Invoice {
	return &pb.Invoice{
		Id: inv.ID, Number: inv.Number, Status: string(inv.Status), UserId: inv.UserID,
		Currency: inv.Currency, DueAt: timeToWire(inv.DueAt), Items: itemsToWire(inv.Items),
		Total: decToWire(inv.Total), Paid: decToWire(inv.Paid), PayUrl: inv.PayURL,
		CreatedAt: timeToWire(inv.CreatedAt),
	}
}

func invoiceFromWire(w *pb.Invoice) (Invoice, error) {
	items, err := itemsFromWire(w.GetItems())
	if err != nil {
		return Invoice{}, err
	}
	total, err := decFromWire("total", w.GetTotal())
	if err != nil {
		return Invoice{}, err
	}
	paid, err := decFromWire("paid", w.GetPaid())
	if err != nil {
		return Invoice{}, err
	}
	return Invoice{
		ID: w.GetId(), Number: w.GetNumber(), Status: InvoiceStatus(w.GetStatus()), UserID: w.GetUserId(),
		Currency: w.GetCurrency(), DueAt: timeFromWire(w.GetDueAt()), Items: items,
		Total: total, Paid: paid, PayURL: w.GetPayUrl(), CreatedAt: timeFromWire(w.GetCreatedAt()),
	}, nil
}

func settingsToWire(s PanelSettings) *pb.PanelSettings {
	return &pb.PanelSettings{
		Panel: s.Panel, Timezone: s.Timezone, DefaultCurrency: s.DefaultCurrency,
		TaxEnabled: s.TaxEnabled, TaxType: s.TaxType, BaseUrl: s.BaseURL, CreditsOnDowngrade: s.CreditsOnDowngrade,
		Currencies: s.Currencies,
	}
}

func settingsFromWire(w *pb.PanelSettings) PanelSettings {
	return PanelSettings{
		Panel: w.GetPanel(), Timezone: w.GetTimezone(), DefaultCurrency: w.GetDefaultCurrency(),
		TaxEnabled: w.GetTaxEnabled(), TaxType: w.GetTaxType(), BaseURL: w.GetBaseUrl(), CreditsOnDowngrade: w.GetCreditsOnDowngrade(),
		Currencies: w.GetCurrencies(),
	}
}

func limitsToWire(l map[Resource]int64) *pb.Limits {
	out := &pb.Limits{Values: make(map[string]int64, len(l))}
	for k, v := range l {
		out.Values[string(k)] = v
	}
	return out
}

func limitsFromWire(w *pb.Limits) map[Resource]int64 {
	out := make(map[Resource]int64, len(w.GetValues()))
	for k, v := range w.GetValues() {
		out[Resource(k)] = v
	}
	return out
}

func refToWire(r ServerRef) *pb.ServerRef {
	return &pb.ServerRef{ServiceId: r.ServiceID, ServerId: r.ServerID, Endpoint: r.Endpoint, Secret: r.Secret, Options: r.Options}
}

func refFromWire(w *pb.ServerRef) ServerRef {
	return ServerRef{ServiceID: w.GetServiceId(), ServerID: w.GetServerId(), Endpoint: w.GetEndpoint(), Secret: w.GetSecret(), Options: w.GetOptions()}
}

func appliedToWire(a Applied) *pb.Applied {
	return &pb.Applied{Before: limitsToWire(a.Before), After: limitsToWire(a.After), Changed: a.Changed}
}

func appliedFromWire(w *pb.Applied) Applied {
	return Applied{Before: limitsFromWire(w.GetBefore()), After: limitsFromWire(w.GetAfter()), Changed: w.GetChanged()}
}

func headersToWire(h map[string][]string) map[string]*pb.HeaderValues {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]*pb.HeaderValues, len(h))
	for k, v := range h {
		out[k] = &pb.HeaderValues{Values: v}
	}
	return out
}

func headersFromWire(w map[string]*pb.HeaderValues) map[string][]string {
	if len(w) == 0 {
		return nil
	}
	out := make(map[string][]string, len(w))
	for k, v := range w {
		out[k] = v.GetValues()
	}
	return out
}

func httpRequestToWire(r HTTPRequest) (*pb.HTTPRequest, error) {
	w := &pb.HTTPRequest{
		Method: r.Method, Path: r.Path, Query: headersToWire(r.Query), Header: headersToWire(r.Header),
		Body: r.Body, RequestId: r.RequestID,
		Principal: &pb.Principal{Kind: string(r.Principal.Kind), UserId: r.Principal.UserID, ServiceId: r.Principal.ServiceID},
	}
	if r.Service != nil {
		w.Service = serviceToWire(*r.Service)
	}
	if r.Settings != nil {
		w.Settings = settingsToWire(*r.Settings)
	}
	if len(r.Prefetched) > 0 {
		w.Prefetched = make(map[string]*pb.SQLRows, len(r.Prefetched))
		for name, rows := range r.Prefetched {
			wr, err := rowsToWire(rows)
			if err != nil {
				return nil, fmt.Errorf("prefetch %q: %w", name, err)
			}
			w.Prefetched[name] = wr
		}
	}
	return w, nil
}

func httpRequestFromWire(w *pb.HTTPRequest) (HTTPRequest, error) {
	p := w.GetPrincipal()
	kind := PrincipalKind(p.GetKind())
	if kind == "" {
		kind = Anonymous
	}
	r := HTTPRequest{
		Method: w.GetMethod(), Path: w.GetPath(), Query: headersFromWire(w.GetQuery()), Header: headersFromWire(w.GetHeader()),
		Body: w.GetBody(), RequestID: w.GetRequestId(),
		Principal: Principal{Kind: kind, UserID: p.GetUserId(), ServiceID: p.GetServiceId()},
	}
	if w.Service != nil {
		svc, err := serviceFromWire(w.GetService())
		if err != nil {
			return HTTPRequest{}, err
		}
		r.Service = &svc
	}
	if w.Settings != nil {
		st := settingsFromWire(w.GetSettings())
		r.Settings = &st
	}
	if len(w.GetPrefetched()) > 0 {
		r.Prefetched = make(map[string]*Rows, len(w.GetPrefetched()))
		for name, rows := range w.GetPrefetched() {
			r.Prefetched[name] = rowsFromWire(rows)
		}
	}
	return r, nil
}

func httpResponseToWire(r HTTPResponse) *pb.HTTPResponse {
	return &pb.HTTPResponse{Status: int32(r.Status), Header: headersToWire(r.Header), Body: r.Body, ReuseUntil: timeToWire(r.ReuseUntil)}
}

func httpResponseFromWire(w *pb.HTTPResponse) HTTPResponse {
	return HTTPResponse{Status: int(w.GetStatus()), Header: headersFromWire(w.GetHeader()), Body: w.GetBody(), ReuseUntil: timeFromWire(w.GetReuseUntil())}
}

func eventToWire(e Event) *pb.Event {
	return &pb.Event{Id: e.ID, Kind: string(e.Kind), Panel: e.Panel, InvoiceId: e.InvoiceID, Attempt: int32(e.Attempt), CreatedAt: timeToWire(e.CreatedAt)}
}

func eventFromWire(w *pb.Event) Event {
	return Event{ID: w.GetId(), Kind: EventKind(w.GetKind()), Panel: w.GetPanel(), InvoiceID: w.GetInvoiceId(), Attempt: int(w.GetAttempt()), CreatedAt: timeFromWire(w.GetCreatedAt())}
}

func moduleInfoToWire(m ModuleInfo) *pb.DescribeModuleResponse {
	out := &pb.DescribeModuleResponse{Name: m.Name, Version: m.Version, TablePrefix: m.TablePrefix}
	for _, r := range m.Routes {
		wr := &pb.Route{Method: r.Method, Path: r.Path, Access: string(r.Access), Page: r.Page, Nav: r.Nav}
		for _, f := range r.Prefetch {
			wf := &pb.Prefetch{Name: f.Name, Sql: f.SQL}
			for _, a := range f.Args {
				wf.Args = append(wf.Args, string(a))
			}
			wr.Prefetch = append(wr.Prefetch, wf)
		}
		out.Routes = append(out.Routes, wr)
	}
	for _, e := range m.Events {
		out.Events = append(out.Events, string(e))
	}
	for _, mg := range m.Migrations {
		out.Migrations = append(out.Migrations, &pb.Migration{Version: mg.Version, Name: mg.Name, Sql: mg.SQL})
	}
	return out
}

func moduleInfoFromWire(w *pb.DescribeModuleResponse) ModuleInfo {
	out := ModuleInfo{Name: w.GetName(), Version: w.GetVersion(), TablePrefix: w.GetTablePrefix()}
	for _, r := range w.GetRoutes() {
		rt := Route{Method: r.GetMethod(), Path: r.GetPath(), Access: Access(r.GetAccess()), Page: r.GetPage(), Nav: r.GetNav()}
		for _, f := range r.GetPrefetch() {
			pf := Prefetch{Name: f.GetName(), SQL: f.GetSql()}
			for _, a := range f.GetArgs() {
				pf.Args = append(pf.Args, PrefetchArg(a))
			}
			rt.Prefetch = append(rt.Prefetch, pf)
		}
		out.Routes = append(out.Routes, rt)
	}
	for _, e := range w.GetEvents() {
		out.Events = append(out.Events, EventKind(e))
	}
	for _, mg := range w.GetMigrations() {
		out.Migrations = append(out.Migrations, Migration{Version: mg.GetVersion(), Name: mg.GetName(), SQL: mg.GetSql()})
	}
	return out
}

func adapterInfoToWire(a AdapterInfo) *pb.DescribeAdapterResponse {
	out := &pb.DescribeAdapterResponse{Name: a.Name, Version: a.Version, Panels: a.Panels}
	for _, r := range a.Resources {
		out.Resources = append(out.Resources, string(r))
	}
	return out
}

func adapterInfoFromWire(w *pb.DescribeAdapterResponse) AdapterInfo {
	out := AdapterInfo{Name: w.GetName(), Version: w.GetVersion(), Panels: w.GetPanels()}
	for _, r := range w.GetResources() {
		out.Resources = append(out.Resources, Resource(r))
	}
	return out
}

func auditToWire(tx TxID, e AuditEntry) *pb.AuditEntry {
	return &pb.AuditEntry{Tx: string(tx), Action: e.Action, ServiceId: e.ServiceID, UserId: e.UserID, Subject: e.Subject, Message: e.Message, Data: e.Data}
}

func auditFromWire(w *pb.AuditEntry) (TxID, AuditEntry) {
	return TxID(w.GetTx()), AuditEntry{Action: w.GetAction(), ServiceID: w.GetServiceId(), UserID: w.GetUserId(), Subject: w.GetSubject(), Message: w.GetMessage(), Data: w.GetData()}
}

// sqlArgToWire converts a Store argument. Money must travel exactly, so
// floats are refused.
func sqlArgToWire(v any) (*pb.SQLValue, error) {
	switch x := v.(type) {
	case nil:
		return &pb.SQLValue{Kind: &pb.SQLValue_Null{Null: true}}, nil
	case bool:
		return &pb.SQLValue{Kind: &pb.SQLValue_Bool{Bool: x}}, nil
	case int:
		return &pb.SQLValue{Kind: &pb.SQLValue_Int{Int: int64(x)}}, nil
	case int32:
		return &pb.SQLValue{Kind: &pb.SQLValue_Int{Int: int64(x)}}, nil
	case int64:
		return &pb.SQLValue{Kind: &pb.SQLValue_Int{Int: x}}, nil
	case uint:
		return &pb.SQLValue{Kind: &pb.SQLValue_Uint{Uint: uint64(x)}}, nil
	case uint32:
		return &pb.SQLValue{Kind: &pb.SQLValue_Uint{Uint: uint64(x)}}, nil
	case uint64:
		return &pb.SQLValue{Kind: &pb.SQLValue_Uint{Uint: x}}, nil
	case string:
		return &pb.SQLValue{Kind: &pb.SQLValue_Text{Text: x}}, nil
	case []byte:
		return &pb.SQLValue{Kind: &pb.SQLValue_Blob{Blob: x}}, nil
	case time.Time:
		return &pb.SQLValue{Kind: &pb.SQLValue_Time{Time: x.UTC().UnixNano()}}, nil
	case decimal.Decimal:
		return &pb.SQLValue{Kind: &pb.SQLValue_Decimal{Decimal: x.String()}}, nil
	case TxID:
		return nil, fmt.Errorf("a TxID is not a query argument: %w", ErrInvalid)
	}
	return nil, Invalid("args", "unsupported argument type %T", v)
}

// sqlValueFromWire converts a Store argument or result value to Go.
func sqlValueFromWire(w *pb.SQLValue) any {
	switch k := w.GetKind().(type) {
	case *pb.SQLValue_Int:
		return k.Int
	case *pb.SQLValue_Uint:
		return k.Uint
	case *pb.SQLValue_Text:
		return k.Text
	case *pb.SQLValue_Blob:
		return k.Blob
	case *pb.SQLValue_Bool:
		return k.Bool
	case *pb.SQLValue_Time:
		return time.Unix(0, k.Time).UTC()
	case *pb.SQLValue_Decimal:
		return k.Decimal
	}
	return nil
}

// sqlResultToWire converts a value scanned by database/sql.
func sqlResultToWire(v any) (*pb.SQLValue, error) {
	switch x := v.(type) {
	case float64, float32:
		// DOUBLE columns come back as floats; send their exact text so the
		// caller decides, rather than rounding through float64 twice.
		return &pb.SQLValue{Kind: &pb.SQLValue_Text{Text: fmt.Sprint(x)}}, nil
	}
	// []byte here is a binary column (the Store turns text columns into
	// strings): it travels as bytes, never as a proto string, which must be
	// valid UTF-8.
	return sqlArgToWire(v)
}

func sqlArgsToWire(args []any) ([]*pb.SQLValue, error) {
	out := make([]*pb.SQLValue, len(args))
	for i, a := range args {
		w, err := sqlArgToWire(a)
		if err != nil {
			return nil, fmt.Errorf("argument %d: %w", i+1, err)
		}
		out[i] = w
	}
	return out, nil
}

func sqlArgsFromWire(ws []*pb.SQLValue) []any {
	out := make([]any, len(ws))
	for i, w := range ws {
		out[i] = sqlValueFromWire(w)
	}
	return out
}

func rowsToWire(r *Rows) (*pb.SQLRows, error) {
	out := &pb.SQLRows{Columns: r.Columns, Rows: make([]*pb.SQLRow, len(r.Values))}
	for i, row := range r.Values {
		wr := &pb.SQLRow{Values: make([]*pb.SQLValue, len(row))}
		for c, v := range row {
			w, err := sqlResultToWire(v)
			if err != nil {
				return nil, fmt.Errorf("row %d column %q: %w", i, r.Columns[c], err)
			}
			wr.Values[c] = w
		}
		out.Rows[i] = wr
	}
	return out, nil
}

func rowsFromWire(w *pb.SQLRows) *Rows {
	out := &Rows{Columns: w.GetColumns(), Values: make([][]any, len(w.GetRows()))}
	for i, row := range w.GetRows() {
		out.Values[i] = sqlArgsFromWire(row.GetValues())
	}
	return out
}
