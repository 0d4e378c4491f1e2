package hostapi_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/upsell-io/upsell/hostapi"
	pb "github.com/upsell-io/upsell/hostapi/internal/upsellv1"
)

// cancelPanel answers CancelInvoice as a host would: invoice 1 is the
// caller's and unpaid, 2 is paid, anything else is not the caller's.
type cancelPanel struct {
	hostapi.Panel
	gotTx hostapi.TxID
	gotID uint64
}

func (p *cancelPanel) CancelInvoice(_ context.Context, tx hostapi.TxID, id uint64) error {
	p.gotTx, p.gotID = tx, id
	switch id {
	case 1:
		return nil
	case 2:
		return hostapi.Errorf(hostapi.CodePrecondition, "invoice %d is paid", id)
	}
	return hostapi.Errorf(hostapi.CodeNotFound, "no invoice %d of this module", id)
}

// hostOver serves register on an in-memory connection and returns the
// plugin's side of the host API.
func hostOver(t *testing.T, register func(*grpc.Server)) hostapi.Host {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	s := grpc.NewServer()
	register(s)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return hostapi.NewHostClient(conn)
}

func TestCancelInvoiceWire(t *testing.T) {
	panel := &cancelPanel{}
	h := hostOver(t, func(s *grpc.Server) { hostapi.RegisterHostServer(s, hostapi.Host{Panel: panel}) })
	ctx := context.Background()
	tests := []struct {
		name string
		id   uint64
		want error
	}{
		{"the caller's unpaid invoice", 1, nil},
		{"a paid invoice is refused", 2, hostapi.ErrPrecondition},
		{"another module's invoice is not found", 3, hostapi.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.Panel.CancelInvoice(ctx, "tx-9", tt.id)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("cancel %d: %v, want %v", tt.id, err, tt.want)
			}
			if panel.gotTx != "tx-9" || panel.gotID != tt.id {
				t.Fatalf("the host got tx %q invoice %d", panel.gotTx, panel.gotID)
			}
		})
	}
}

func TestCancelInvoiceOlderHost(t *testing.T) {
	// A host of minor 1.6 serves a Panel without CancelInvoice.
	h := hostOver(t, func(s *grpc.Server) { pb.RegisterPanelServer(s, barePanelServer{}) })
	err := h.Panel.CancelInvoice(context.Background(), "", 1)
	if !errors.Is(err, hostapi.ErrUnavailable) || !errors.Is(err, hostapi.ErrUnimplemented) {
		t.Fatalf("older host: %v, want CodeUnavailable with ErrUnimplemented", err)
	}
}
