package microupsell

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/upsell-io/upsell/hostapi"
)

func TestAmountWords(t *testing.T) {
	tests := []struct {
		resource hostapi.Resource
		n        int64
		limit    bool
		want     string
	}{
		{hostapi.MemoryMiB, 4096, false, "4 GB RAM"},
		{hostapi.MemoryMiB, 1536, false, "1.5 GB RAM"},
		{hostapi.MemoryMiB, 512, false, "512 MB RAM"},
		{hostapi.DiskMiB, 10240, false, "10 GB disk"},
		{hostapi.CPUPercent, 200, false, "200 % CPU"},
		{hostapi.Ports, 1, false, "1 port"},
		{hostapi.Ports, 3, false, "3 ports"},
		{hostapi.Databases, hostapi.Unlimited, false, "unlimited databases"},
		{hostapi.Backups, 2, false, "2 backups"},
		// Pterodactyl's 0 memory, disk or CPU is no limit; 0 backups is none.
		{hostapi.MemoryMiB, 0, true, "unlimited RAM"},
		{hostapi.CPUPercent, 0, true, "unlimited CPU"},
		{hostapi.Backups, 0, true, "0 backups"},
	}
	for _, tc := range tests {
		got := amountWords(tc.resource, tc.n)
		if tc.limit {
			got = limitWords(tc.resource, tc.n)
		}
		if got != tc.want {
			t.Errorf("%s %d: %q, want %q", tc.resource, tc.n, got, tc.want)
		}
	}
}

func TestCycleWords(t *testing.T) {
	tests := []struct {
		cycle      hostapi.Cycle
		words, per string
	}{
		{hostapi.Cycle{Type: hostapi.PlanRecurring, Period: 1, Unit: hostapi.UnitMonth}, "monthly", "/ month"},
		{hostapi.Cycle{Type: hostapi.PlanRecurring, Period: 3, Unit: hostapi.UnitMonth}, "every 3 months", "every 3 months"},
		{hostapi.Cycle{Type: hostapi.PlanRecurring, Period: 1, Unit: hostapi.UnitYear}, "yearly", "/ year"},
		{hostapi.Cycle{Type: hostapi.PlanOneTime}, "one-time", ""},
	}
	for _, tc := range tests {
		if w, p := cycleWords(tc.cycle), per(tc.cycle); w != tc.words || p != tc.per {
			t.Errorf("%v: %q %q, want %q %q", tc.cycle, w, p, tc.words, tc.per)
		}
	}
}

func TestReadShopForm(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		withKey bool
		// field is the refused field; "" means accepted.
		field string
	}{
		{"confirm", "csrf=t&package_id=7", false, ""},
		{"buy", "csrf=t&package_id=7&idempotency_key=abc", true, ""},
		{"a price", "csrf=t&package_id=7&idempotency_key=abc&due_today=0.01", true, "due_today"},
		{"a key on the confirm form", "csrf=t&package_id=7&idempotency_key=abc", false, "idempotency_key"},
		{"two packages", "csrf=t&package_id=7&package_id=8&idempotency_key=abc", true, "package_id"},
		{"not a package id", "csrf=t&package_id=ram", false, "package_id"},
		{"package zero", "csrf=t&package_id=0", false, "package_id"},
		{"no key", "csrf=t&package_id=7", true, "idempotency_key"},
		{"a key too long", "csrf=t&package_id=7&idempotency_key=" + strings.Repeat("k", 129), true, "idempotency_key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/shop/buy", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			id, key, err := readShopForm(r, tc.withKey)
			if tc.field == "" {
				if err != nil || id != 7 || (tc.withKey && key != "abc") {
					t.Fatalf("%d %q %v", id, key, err)
				}
				return
			}
			var e *hostapi.Error
			if !errors.As(err, &e) || e.Code != hostapi.CodeInvalid || e.Field != tc.field {
				t.Fatalf("%v, want field %s refused", err, tc.field)
			}
		})
	}
}

func TestShopRoot(t *testing.T) {
	for path, want := range map[string]string{"/shop": "./", "/shop/confirm": "../", "/shop/buy": "../"} {
		r := httptest.NewRequest(http.MethodGet, (&url.URL{Path: path}).String(), nil)
		if got := newPage(r, 1).Root; got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}

func TestWhyNot(t *testing.T) {
	monthly := hostapi.Cycle{Type: hostapi.PlanRecurring, Period: 1, Unit: hostapi.UnitMonth}
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		svc  hostapi.Service
		want string
	}{
		{"suspended", hostapi.Service{Status: hostapi.ServiceSuspended, Cycle: monthly}, "This service is suspended"},
		{"cancelled", hostapi.Service{Status: hostapi.ServiceCancelled, Cycle: monthly}, "This service is cancelled"},
		{"one-time", hostapi.Service{Status: hostapi.ServiceActive, Cycle: hostapi.Cycle{Type: hostapi.PlanOneTime}}, "paid once and has no renewal"},
		{"hourly", hostapi.Service{Status: hostapi.ServiceActive, Cycle: hostapi.Cycle{Type: hostapi.PlanRecurring, Period: 1, Unit: hostapi.UnitHour}}, "billed by the hour"},
	}
	for _, tc := range tests {
		if got := whyNot(tc.svc, errors.New("x")); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q", tc.name, got)
		}
	}
	if got := expiryRefusal(hostapi.Service{}, now); !strings.Contains(got, "no renewal date") {
		t.Errorf("no expiry: %q", got)
	}
	if got := expiryRefusal(hostapi.Service{ExpiresAt: now.AddDate(0, 0, -3)}, now); !strings.Contains(got, "ended on 29 Nov 2026") {
		t.Errorf("expired: %q", got)
	}
	if got := expiryRefusal(hostapi.Service{ExpiresAt: now.AddDate(0, 0, 3)}, now); got != "" {
		t.Errorf("running cycle refused: %q", got)
	}
}
