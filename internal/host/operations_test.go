package host

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/grpc/metadata"

	"github.com/upsell-io/upsell/hostapi"
	"github.com/upsell-io/upsell/internal/testdb"
)

// opCtx is a host call's context as the host API server sees it when the
// plugin's SDK sends the operation along.
func opCtx(id string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs("upsell-operation", id))
}

// TestPoolRule shows which calls of an operation holding a transaction are
// breaches (they would wait for a second connection) and which are not.
func TestPoolRule(t *testing.T) {
	db := testdb.New(t)
	if _, err := db.Exec("CREATE TABLE ext_t_items (id INT PRIMARY KEY, name VARCHAR(20))"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		op     string // "" outside any operation
		call   func(ctx context.Context, s *Store, tx hostapi.Tx) error
		breach bool
	}{
		{"a statement in the transaction", "request:a", func(ctx context.Context, s *Store, tx hostapi.Tx) error {
			_, err := s.Query(ctx, tx.ID(), "SELECT id FROM ext_t_items")
			return err
		}, false},
		{"a statement without the transaction's id", "request:b", func(ctx context.Context, s *Store, _ hostapi.Tx) error {
			_, err := s.Query(ctx, "", "SELECT id FROM ext_t_items")
			return err
		}, true},
		{"a second transaction", "request:c", func(ctx context.Context, s *Store, _ hostapi.Tx) error {
			tx2, err := s.Begin(ctx)
			if err == nil {
				_ = tx2.Rollback(ctx)
			}
			return err
		}, true},
		{"another operation's statement", "request:d", func(_ context.Context, s *Store, _ hostapi.Tx) error {
			_, err := s.Query(opCtx("request:other"), "", "SELECT id FROM ext_t_items")
			return err
		}, false},
		{"a call outside any operation (an older plugin)", "", func(ctx context.Context, s *Store, _ hostapi.Tx) error {
			_, err := s.Query(ctx, "", "SELECT id FROM ext_t_items")
			return err
		}, false},
		{"a job's breach is counted too", "event:e", func(ctx context.Context, s *Store, _ hostapi.Tx) error {
			_, err := s.Exec(ctx, "", "UPDATE ext_t_items SET name = 'x' WHERE id = 1")
			return err
		}, true},
	}
	for _, strict := range []bool{false, true} {
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				ops := NewOperations(discardLogger())
				ops.Strict = strict
				s := NewStore(db.DB, "ext_t_")
				s.ops, s.plugin = ops, "m"
				defer s.Close()
				ctx := context.Background()
				if tc.op != "" {
					ctx = opCtx(tc.op)
				}
				tx, err := s.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				err = tc.call(ctx, s, tx)
				breaches := ops.Breaches(hostapi.RequestOperation) + ops.Breaches(hostapi.EventOperation)
				switch {
				case tc.breach && breaches != 1:
					t.Errorf("%d breaches counted, want 1", breaches)
				case !tc.breach && breaches != 0:
					t.Errorf("%d breaches counted, want 0", breaches)
				case tc.breach && strict && !errors.Is(err, hostapi.ErrInternal):
					t.Errorf("strict: %v, want the call refused", err)
				case (!tc.breach || !strict) && err != nil:
					t.Errorf("refused: %v", err)
				}
				// Once the transaction ends the operation holds nothing.
				if err := tx.Rollback(ctx); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Query(ctx, "", "SELECT id FROM ext_t_items"); err != nil {
					t.Errorf("after the transaction: %v", err)
				}
				if got := ops.Breaches(hostapi.RequestOperation) + ops.Breaches(hostapi.EventOperation); got != breaches {
					t.Errorf("after the transaction: %d breaches, want %d", got, breaches)
				}
			})
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
