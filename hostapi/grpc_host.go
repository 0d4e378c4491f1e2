package hostapi

import (
	"context"
	"strconv"

	"github.com/shopspring/decimal"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	pb "github.com/upsell-io/upsell/hostapi/internal/upsellv1"
)

// RegisterHostServer serves h's host API on s. The host calls it once per
// plugin instance on that plugin's brokered server.
func RegisterHostServer(s *grpc.Server, h Host) {
	pb.RegisterPanelServer(s, &panelServer{impl: h.Panel})
	pb.RegisterProvisionServer(s, &provisionServer{impl: h.Provision})
	pb.RegisterAuditServer(s, &auditServer{impl: h.Audit})
	pb.RegisterStoreServer(s, &storeServer{impl: h.Store})
}

// NewHostClient returns the host API over conn. Plugins get it from
// Configure; the connection is dialled once and kept for the plugin's life.
func NewHostClient(conn grpc.ClientConnInterface) Host {
	conn = operationConn{conn: conn}
	return Host{
		Panel:     &panelClient{c: pb.NewPanelClient(conn)},
		Provision: &provisionClient{c: pb.NewProvisionClient(conn)},
		Audit:     &auditClient{c: pb.NewAuditClient(conn)},
		Store:     &storeClient{c: pb.NewStoreClient(conn)},
	}
}

func unavailable(what string) error {
	return &Error{Code: CodeUnavailable, Message: what + " is not offered by this host"}
}

// ---- Panel ----

type panelServer struct {
	pb.UnimplementedPanelServer
	impl Panel
}

func (s *panelServer) Settings(ctx context.Context, _ *pb.Empty) (*pb.PanelSettings, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	out, err := s.impl.Settings(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return settingsToWire(out), nil
}

func (s *panelServer) GetService(ctx context.Context, r *pb.IDRequest) (*pb.Service, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	out, err := s.impl.Service(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return serviceToWire(out), nil
}

func (s *panelServer) GetUser(ctx context.Context, r *pb.IDRequest) (*pb.User, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	out, err := s.impl.User(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return userToWire(out), nil
}

func (s *panelServer) GetInvoice(ctx context.Context, r *pb.IDRequest) (*pb.Invoice, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	out, err := s.impl.Invoice(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return invoiceToWire(out), nil
}

func (s *panelServer) CreateInvoice(ctx context.Context, r *pb.CreateInvoiceRequest) (*pb.Invoice, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	items, err := itemsFromWire(r.GetItems())
	if err != nil {
		return nil, toStatus(err)
	}
	out, err := s.impl.CreateInvoice(ctx, TxID(r.GetTx()), NewInvoice{
		UserID: r.GetUserId(), Currency: r.GetCurrency(), DueAt: timeFromWire(r.GetDueAt()), Items: items,
	})
	if err != nil {
		return nil, toStatus(err)
	}
	return invoiceToWire(out), nil
}

func (s *panelServer) UpdateRecurringPrice(ctx context.Context, r *pb.PriceChangeRequest) (*pb.PriceChangeResponse, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	from, err := decFromWire("from", r.GetFrom())
	if err != nil {
		return nil, toStatus(err)
	}
	to, err := decFromWire("to", r.GetTo())
	if err != nil {
		return nil, toStatus(err)
	}
	out, err := s.impl.UpdateRecurringPrice(ctx, TxID(r.GetTx()), PriceChange{ServiceID: r.GetServiceId(), From: from, To: to, Reason: r.GetReason()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.PriceChangeResponse{ServiceId: out.ServiceID, From: decToWire(out.From), To: decToWire(out.To), RenewalInvoiceId: out.RenewalInvoiceID}, nil
}

func (s *panelServer) ExclusiveTaxRate(ctx context.Context, r *pb.IDRequest) (*pb.TaxRateResponse, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	rate, err := s.impl.ExclusiveTaxRate(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.TaxRateResponse{Rate: decToWire(rate)}, nil
}

type panelClient struct{ c pb.PanelClient }

func (p *panelClient) ExclusiveTaxRate(ctx context.Context, userID uint64) (decimal.Decimal, error) {
	out, err := p.c.ExclusiveTaxRate(ctx, &pb.IDRequest{Id: userID}, callOptions()...)
	if err != nil {
		return decimal.Zero, fromStatus(ctx, nil, err)
	}
	return decFromWire("rate", out.GetRate())
}

func (p *panelClient) Settings(ctx context.Context) (PanelSettings, error) {
	out, err := p.c.Settings(ctx, &pb.Empty{}, callOptions()...)
	if err != nil {
		return PanelSettings{}, fromStatus(ctx, nil, err)
	}
	return settingsFromWire(out), nil
}

func (p *panelClient) Service(ctx context.Context, id uint64) (Service, error) {
	out, err := p.c.GetService(ctx, &pb.IDRequest{Id: id}, callOptions()...)
	if err != nil {
		return Service{}, fromStatus(ctx, nil, err)
	}
	return serviceFromWire(out)
}

func (p *panelClient) User(ctx context.Context, id uint64) (User, error) {
	out, err := p.c.GetUser(ctx, &pb.IDRequest{Id: id}, callOptions()...)
	if err != nil {
		return User{}, fromStatus(ctx, nil, err)
	}
	return userFromWire(out), nil
}

func (p *panelClient) Invoice(ctx context.Context, id uint64) (Invoice, error) {
	out, err := p.c.GetInvoice(ctx, &pb.IDRequest{Id: id}, callOptions()...)
	if err != nil {
		return Invoice{}, fromStatus(ctx, nil, err)
	}
	return invoiceFromWire(out)
}

func (p *panelClient) CreateInvoice(ctx context.Context, tx TxID, inv NewInvoice) (Invoice, error) {
	out, err := p.c.CreateInvoice(ctx, &pb.CreateInvoiceRequest{
		Tx: string(tx), UserId: inv.UserID, Currency: inv.Currency, DueAt: timeToWire(inv.DueAt), Items: itemsToWire(inv.Items),
	}, callOptions()...)
	if err != nil {
		return Invoice{}, fromStatus(ctx, nil, err)
	}
	return invoiceFromWire(out)
}

func (p *panelClient) UpdateRecurringPrice(ctx context.Context, tx TxID, ch PriceChange) (PriceChanged, error) {
	out, err := p.c.UpdateRecurringPrice(ctx, &pb.PriceChangeRequest{
		Tx: string(tx), ServiceId: ch.ServiceID, From: decToWire(ch.From), To: decToWire(ch.To), Reason: ch.Reason,
	}, callOptions()...)
	if err != nil {
		return PriceChanged{}, fromStatus(ctx, nil, err)
	}
	from, err := decFromWire("from", out.GetFrom())
	if err != nil {
		return PriceChanged{}, err
	}
	to, err := decFromWire("to", out.GetTo())
	if err != nil {
		return PriceChanged{}, err
	}
	return PriceChanged{ServiceID: out.GetServiceId(), From: from, To: to, RenewalInvoiceID: out.GetRenewalInvoiceId()}, nil
}

// ---- Provision ----

type provisionServer struct {
	pb.UnimplementedProvisionServer
	impl Provision
}

func (s *provisionServer) Read(ctx context.Context, r *pb.IDRequest) (*pb.Limits, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("provisioning"))
	}
	out, err := s.impl.Read(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return limitsToWire(out), nil
}

func (s *provisionServer) Apply(ctx context.Context, r *pb.ServiceTargetRequest) (*pb.Applied, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("provisioning"))
	}
	out, err := s.impl.Apply(ctx, r.GetServiceId(), limitsFromWire(r.GetTarget()))
	if err != nil {
		return nil, toStatus(err)
	}
	return appliedToWire(out), nil
}

func (s *provisionServer) CheckCapacity(ctx context.Context, r *pb.ServiceTargetRequest) (*pb.Empty, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("provisioning"))
	}
	if err := s.impl.CheckCapacity(ctx, r.GetServiceId(), limitsFromWire(r.GetTarget())); err != nil {
		return nil, toStatus(err)
	}
	return &pb.Empty{}, nil
}

func (s *provisionServer) LockService(ctx context.Context, r *pb.IDRequest) (*pb.ServiceLock, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("provisioning"))
	}
	out, err := s.impl.LockService(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ServiceLock{ServiceId: out.ServiceID, Token: out.Token}, nil
}

func (s *provisionServer) UnlockService(ctx context.Context, r *pb.ServiceLock) (*pb.Empty, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("provisioning"))
	}
	if err := s.impl.UnlockService(ctx, ServiceLock{ServiceID: r.GetServiceId(), Token: r.GetToken()}); err != nil {
		return nil, toStatus(err)
	}
	return &pb.Empty{}, nil
}

type provisionClient struct{ c pb.ProvisionClient }

func (p *provisionClient) LockService(ctx context.Context, serviceID uint64) (ServiceLock, error) {
	out, err := p.c.LockService(ctx, &pb.IDRequest{Id: serviceID}, callOptions()...)
	if err != nil {
		return ServiceLock{}, fromStatus(ctx, nil, err)
	}
	return ServiceLock{ServiceID: out.GetServiceId(), Token: out.GetToken()}, nil
}

func (p *provisionClient) UnlockService(ctx context.Context, lock ServiceLock) error {
	_, err := p.c.UnlockService(ctx, &pb.ServiceLock{ServiceId: lock.ServiceID, Token: lock.Token}, callOptions()...)
	return fromStatus(ctx, nil, err)
}

func (p *provisionClient) Read(ctx context.Context, serviceID uint64) (Limits, error) {
	out, err := p.c.Read(ctx, &pb.IDRequest{Id: serviceID}, callOptions()...)
	if err != nil {
		return nil, fromStatus(ctx, nil, err)
	}
	return limitsFromWire(out), nil
}

func (p *provisionClient) Apply(ctx context.Context, serviceID uint64, target Target) (Applied, error) {
	out, err := p.c.Apply(ctx, &pb.ServiceTargetRequest{ServiceId: serviceID, Target: limitsToWire(target)}, callOptions()...)
	if err != nil {
		return Applied{}, fromStatus(ctx, nil, err)
	}
	return appliedFromWire(out), nil
}

func (p *provisionClient) CheckCapacity(ctx context.Context, serviceID uint64, target Target) error {
	_, err := p.c.CheckCapacity(ctx, &pb.ServiceTargetRequest{ServiceId: serviceID, Target: limitsToWire(target)}, callOptions()...)
	return fromStatus(ctx, nil, err)
}

// ---- Audit ----

type auditServer struct {
	pb.UnimplementedAuditServer
	impl Audit
}

func (s *auditServer) Write(ctx context.Context, r *pb.AuditEntry) (*pb.AuditWritten, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("audit"))
	}
	tx, e := auditFromWire(r)
	id, err := s.impl.Write(ctx, tx, e)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.AuditWritten{Id: id}, nil
}

type auditClient struct{ c pb.AuditClient }

func (a *auditClient) Write(ctx context.Context, tx TxID, e AuditEntry) (uint64, error) {
	out, err := a.c.Write(ctx, auditToWire(tx, e), callOptions()...)
	if err != nil {
		return 0, fromStatus(ctx, nil, err)
	}
	return out.GetId(), nil
}

// ---- Store ----

type storeServer struct {
	pb.UnimplementedStoreServer
	impl Store
}

func (s *storeServer) Begin(ctx context.Context, _ *pb.Empty) (*pb.TxStarted, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("store"))
	}
	tx, err := s.impl.Begin(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.TxStarted{Tx: string(tx.ID())}, nil
}

// TxResolver is implemented by a Store that can find an open transaction by
// id; the host's Store does, so Commit and Rollback can cross the wire.
type TxResolver interface {
	Tx(id TxID) (Tx, error)
}

func (s *storeServer) resolve(id string) (Tx, error) {
	r, ok := s.impl.(TxResolver)
	if !ok {
		return nil, unavailable("transactions")
	}
	return r.Tx(TxID(id))
}

func (s *storeServer) Commit(ctx context.Context, r *pb.TxRequest) (*pb.Empty, error) {
	tx, err := s.resolve(r.GetTx())
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.Empty{}, nil
}

func (s *storeServer) Rollback(ctx context.Context, r *pb.TxRequest) (*pb.Empty, error) {
	tx, err := s.resolve(r.GetTx())
	if err == nil {
		err = tx.Rollback(ctx)
	}
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.Empty{}, nil
}

func (s *storeServer) Query(ctx context.Context, r *pb.SQLRequest) (*pb.SQLRows, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("store"))
	}
	rows, err := s.impl.Query(ctx, TxID(r.GetTx()), r.GetQuery(), sqlArgsFromWire(r.GetArgs())...)
	if err != nil {
		return nil, toStatus(err)
	}
	out, err := rowsToWire(rows)
	if err != nil {
		return nil, toStatus(err)
	}
	return out, nil
}

func (s *storeServer) Exec(ctx context.Context, r *pb.SQLRequest) (*pb.SQLExecResult, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("store"))
	}
	res, err := s.impl.Exec(ctx, TxID(r.GetTx()), r.GetQuery(), sqlArgsFromWire(r.GetArgs())...)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.SQLExecResult{RowsAffected: res.RowsAffected, LastInsertId: res.LastInsertID}, nil
}

type storeClient struct{ c pb.StoreClient }

type remoteTx struct {
	id TxID
	c  pb.StoreClient
}

func (t *remoteTx) ID() TxID { return t.id }

func (t *remoteTx) Commit(ctx context.Context) error {
	_, err := t.c.Commit(ctx, &pb.TxRequest{Tx: string(t.id)}, callOptions()...)
	return fromStatus(ctx, nil, err)
}

func (t *remoteTx) Rollback(ctx context.Context) error {
	_, err := t.c.Rollback(ctx, &pb.TxRequest{Tx: string(t.id)}, callOptions()...)
	return fromStatus(ctx, nil, err)
}

func (s *storeClient) Begin(ctx context.Context) (Tx, error) {
	out, err := s.c.Begin(ctx, &pb.Empty{}, callOptions()...)
	if err != nil {
		return nil, fromStatus(ctx, nil, err)
	}
	return &remoteTx{id: TxID(out.GetTx()), c: s.c}, nil
}

func (s *storeClient) Query(ctx context.Context, tx TxID, query string, args ...any) (*Rows, error) {
	wargs, err := sqlArgsToWire(args)
	if err != nil {
		return nil, err
	}
	out, err := s.c.Query(ctx, &pb.SQLRequest{Tx: string(tx), Query: query, Args: wargs}, callOptions()...)
	if err != nil {
		return nil, fromStatus(ctx, nil, err)
	}
	return rowsFromWire(out), nil
}

func (s *storeClient) Exec(ctx context.Context, tx TxID, query string, args ...any) (ExecResult, error) {
	wargs, err := sqlArgsToWire(args)
	if err != nil {
		return ExecResult{}, err
	}
	out, err := s.c.Exec(ctx, &pb.SQLRequest{Tx: string(tx), Query: query, Args: wargs}, callOptions()...)
	if err != nil {
		return ExecResult{}, fromStatus(ctx, nil, err)
	}
	return ExecResult{RowsAffected: out.GetRowsAffected(), LastInsertID: out.GetLastInsertId()}, nil
}

func (s *panelServer) GetProductPlan(ctx context.Context, r *pb.ProductPlanRequest) (*pb.ProductPlan, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	out, err := s.impl.ProductPlan(ctx, r.GetPlanId(), r.GetCurrency())
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ProductPlan{
		Id: out.ID, ProductId: out.ProductID, Currency: out.Currency, Price: decToWire(out.Price), SetupFee: decToWire(out.SetupFee),
		Cycle: cycleToWire(out.Cycle),
	}, nil
}

func (s *panelServer) CreateServiceOrder(ctx context.Context, r *pb.CreateServiceOrderRequest) (*pb.ServiceOrder, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	price, err := decFromWire("price", r.GetPrice())
	if err != nil {
		return nil, toStatus(err)
	}
	first, err := decFromWire("first_amount", r.GetFirstAmount())
	if err != nil {
		return nil, toStatus(err)
	}
	order := NewServiceOrder{
		UserID: r.GetUserId(), ProductID: r.GetProductId(), PlanID: r.GetPlanId(), Currency: r.GetCurrency(),
		Price: price, FirstAmount: first, Description: r.GetDescription(), CouponID: r.GetCouponId(), DueAt: timeFromWire(r.GetDueAt()),
	}
	for _, p := range r.GetProperties() {
		order.Properties = append(order.Properties, ServiceProperty{Key: p.GetKey(), Name: p.GetName(), Value: p.GetValue()})
	}
	out, err := s.impl.CreateServiceOrder(ctx, TxID(r.GetTx()), order)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.ServiceOrder{OrderId: out.OrderID, ServiceId: out.ServiceID, Invoice: invoiceToWire(out.Invoice)}, nil
}

func (p *panelClient) ProductPlan(ctx context.Context, planID uint64, currency string) (ProductPlan, error) {
	out, err := p.c.GetProductPlan(ctx, &pb.ProductPlanRequest{PlanId: planID, Currency: currency}, callOptions()...)
	if err != nil {
		return ProductPlan{}, fromStatus(ctx, nil, err)
	}
	price, err := decFromWire("price", out.GetPrice())
	if err != nil {
		return ProductPlan{}, err
	}
	setup, err := decFromWire("setup_fee", out.GetSetupFee())
	if err != nil {
		return ProductPlan{}, err
	}
	return ProductPlan{
		ID: out.GetId(), ProductID: out.GetProductId(), Currency: out.GetCurrency(), Price: price, SetupFee: setup,
		Cycle: cycleFromWire(out.GetCycle()),
	}, nil
}

func (p *panelClient) CreateServiceOrder(ctx context.Context, tx TxID, o NewServiceOrder) (ServiceOrder, error) {
	req := &pb.CreateServiceOrderRequest{
		Tx: string(tx), UserId: o.UserID, ProductId: o.ProductID, PlanId: o.PlanID, Currency: o.Currency,
		Price: decToWire(o.Price), FirstAmount: decToWire(o.FirstAmount), Description: o.Description, CouponId: o.CouponID,
		DueAt: timeToWire(o.DueAt),
	}
	for _, prop := range o.Properties {
		req.Properties = append(req.Properties, &pb.ServiceProperty{Key: prop.Key, Name: prop.Name, Value: prop.Value})
	}
	out, err := p.c.CreateServiceOrder(ctx, req, callOptions()...)
	if err != nil {
		return ServiceOrder{}, fromStatus(ctx, nil, err)
	}
	inv, err := invoiceFromWire(out.GetInvoice())
	if err != nil {
		return ServiceOrder{}, err
	}
	return ServiceOrder{OrderID: out.GetOrderId(), ServiceID: out.GetServiceId(), Invoice: inv}, nil
}

func (s *panelServer) SetServiceProperties(ctx context.Context, r *pb.SetServicePropertiesRequest) (*pb.Empty, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	props := make([]ServiceProperty, 0, len(r.GetProperties()))
	for _, p := range r.GetProperties() {
		props = append(props, ServiceProperty{Key: p.GetKey(), Name: p.GetName(), Value: p.GetValue()})
	}
	if err := s.impl.SetServiceProperties(ctx, TxID(r.GetTx()), r.GetServiceId(), props); err != nil {
		return nil, toStatus(err)
	}
	return &pb.Empty{}, nil
}

func (s *panelServer) AddCredit(ctx context.Context, r *pb.AddCreditRequest) (*pb.CreditBalance, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	amount, err := decFromWire("amount", r.GetAmount())
	if err != nil {
		return nil, toStatus(err)
	}
	out, err := s.impl.AddCredit(ctx, TxID(r.GetTx()), CreditGrant{UserID: r.GetUserId(), Currency: r.GetCurrency(), Amount: amount, Reason: r.GetReason()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.CreditBalance{UserId: out.UserID, Currency: out.Currency, Balance: decToWire(out.Balance)}, nil
}

func (p *panelClient) SetServiceProperties(ctx context.Context, tx TxID, serviceID uint64, props []ServiceProperty) error {
	req := &pb.SetServicePropertiesRequest{Tx: string(tx), ServiceId: serviceID}
	for _, prop := range props {
		req.Properties = append(req.Properties, &pb.ServiceProperty{Key: prop.Key, Name: prop.Name, Value: prop.Value})
	}
	if _, err := p.c.SetServiceProperties(ctx, req, callOptions()...); err != nil {
		return fromStatus(ctx, nil, err)
	}
	return nil
}

func (p *panelClient) AddCredit(ctx context.Context, tx TxID, g CreditGrant) (CreditBalance, error) {
	out, err := p.c.AddCredit(ctx, &pb.AddCreditRequest{
		Tx: string(tx), UserId: g.UserID, Currency: g.Currency, Amount: decToWire(g.Amount), Reason: g.Reason,
	}, callOptions()...)
	if err != nil {
		return CreditBalance{}, fromStatus(ctx, nil, err)
	}
	balance, err := decFromWire("balance", out.GetBalance())
	if err != nil {
		return CreditBalance{}, err
	}
	return CreditBalance{UserID: out.GetUserId(), Currency: out.GetCurrency(), Balance: balance}, nil
}

func optionalIntToWire(p *int) (bool, int64) {
	if p == nil {
		return false, 0
	}
	return true, int64(*p)
}

func optionalIntFromWire(has bool, v int64) *int {
	if !has {
		return nil
	}
	n := int(v)
	return &n
}

func (s *panelServer) GetCoupon(ctx context.Context, r *pb.CouponRequest) (*pb.Coupon, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	c, err := s.impl.Coupon(ctx, TxID(r.GetTx()), r.GetCode(), r.GetUserId())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.Coupon{Id: c.ID, Code: c.Code, Type: c.Type, AppliesTo: c.AppliesTo, Value: decToWire(c.Value),
		StartsAt: timeToWire(c.StartsAt), ExpiresAt: timeToWire(c.ExpiresAt), ProductIds: c.ProductIDs,
		UsesTotal: int64(c.UsesTotal), UsesByUser: int64(c.UsesByUser)}
	out.HasRecurring, out.Recurring = optionalIntToWire(c.Recurring)
	out.HasMaxUses, out.MaxUses = optionalIntToWire(c.MaxUses)
	out.HasMaxUsesPerUser, out.MaxUsesPerUser = optionalIntToWire(c.MaxUsesPerUser)
	return out, nil
}

func (p *panelClient) Coupon(ctx context.Context, tx TxID, code string, userID uint64) (Coupon, error) {
	out, err := p.c.GetCoupon(ctx, &pb.CouponRequest{Tx: string(tx), Code: code, UserId: userID}, callOptions()...)
	if err != nil {
		return Coupon{}, fromStatus(ctx, nil, err)
	}
	value, err := decFromWire("value", out.GetValue())
	if err != nil {
		return Coupon{}, err
	}
	return Coupon{ID: out.GetId(), Code: out.GetCode(), Type: out.GetType(), AppliesTo: out.GetAppliesTo(), Value: value,
		Recurring:      optionalIntFromWire(out.GetHasRecurring(), out.GetRecurring()),
		MaxUses:        optionalIntFromWire(out.GetHasMaxUses(), out.GetMaxUses()),
		MaxUsesPerUser: optionalIntFromWire(out.GetHasMaxUsesPerUser(), out.GetMaxUsesPerUser()),
		StartsAt:       timeFromWire(out.GetStartsAt()), ExpiresAt: timeFromWire(out.GetExpiresAt()), ProductIDs: out.GetProductIds(),
		UsesTotal: int(out.GetUsesTotal()), UsesByUser: int(out.GetUsesByUser())}, nil
}

func (s *panelServer) GetServiceWrites(ctx context.Context, r *pb.IDRequest) (*pb.ServiceWrites, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	w, err := s.impl.ServiceWrites(ctx, r.GetId())
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.ServiceWrites{ServiceId: w.ServiceID}
	if w.Price != nil {
		out.Price = &pb.Write{Value: decToWire(w.Price.Value), Module: w.Price.Module, At: timeToWire(w.Price.At)}
	}
	if len(w.Limits) > 0 {
		out.Limits = make(map[string]*pb.Write, len(w.Limits))
		for r, l := range w.Limits {
			out.Limits[string(r)] = &pb.Write{Value: strconv.FormatInt(l.Value, 10), Module: l.Module, At: timeToWire(l.At)}
		}
	}
	return out, nil
}

func (p *panelClient) ServiceWrites(ctx context.Context, serviceID uint64) (ServiceWrites, error) {
	out, err := p.c.GetServiceWrites(ctx, &pb.IDRequest{Id: serviceID}, callOptions()...)
	if err != nil {
		return ServiceWrites{}, fromStatus(ctx, nil, err)
	}
	w := ServiceWrites{ServiceID: out.GetServiceId()}
	if pw := out.GetPrice(); pw != nil {
		value, err := decFromWire("price", pw.GetValue())
		if err != nil {
			return ServiceWrites{}, err
		}
		w.Price = &PriceWrite{Value: value, Module: pw.GetModule(), At: timeFromWire(pw.GetAt())}
	}
	if len(out.GetLimits()) > 0 {
		w.Limits = make(map[Resource]LimitWrite, len(out.GetLimits()))
		for r, lw := range out.GetLimits() {
			v, err := strconv.ParseInt(lw.GetValue(), 10, 64)
			if err != nil {
				return ServiceWrites{}, Errorf(CodeInternal, "limit %q: %q is not an integer", r, lw.GetValue())
			}
			w.Limits[Resource(r)] = LimitWrite{Value: v, Module: lw.GetModule(), At: timeFromWire(lw.GetAt())}
		}
	}
	return w, nil
}

func (s *panelServer) CancelInvoice(ctx context.Context, r *pb.CancelInvoiceRequest) (*pb.Empty, error) {
	if s.impl == nil {
		return nil, toStatus(unavailable("panel"))
	}
	if err := s.impl.CancelInvoice(ctx, TxID(r.GetTx()), r.GetInvoiceId()); err != nil {
		return nil, toStatus(err)
	}
	return &pb.Empty{}, nil
}

// CancelInvoice asks the host to cancel an unpaid invoice; a host older
// than minor 1.7 answers Unimplemented, said here as CodeUnavailable with
// ErrUnimplemented, so the module can tell "not possible on this host"
// from a refusal.
func (p *panelClient) CancelInvoice(ctx context.Context, tx TxID, invoiceID uint64) error {
	_, err := p.c.CancelInvoice(ctx, &pb.CancelInvoiceRequest{Tx: string(tx), InvoiceId: invoiceID}, callOptions()...)
	if status.Code(err) == codes.Unimplemented {
		return &Error{Code: CodeUnavailable, Message: "the host cannot cancel invoices: it needs host API minor version 1.7", Err: ErrUnimplemented}
	}
	if err != nil {
		return fromStatus(ctx, nil, err)
	}
	return nil
}
