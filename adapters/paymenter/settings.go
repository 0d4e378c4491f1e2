package paymenter

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/upsell-io/upsell/hostapi"
)

// Defaults Paymenter applies when a global setting has no row.
const (
	defaultTimezone      = "UTC"
	defaultNumberFormat  = "INV-{number}"
	defaultNumberPadding = 1
)

// panelSettings are the global settings the binding uses, parsed.
type panelSettings struct {
	timezone        string
	location        *time.Location
	defaultCurrency string
	taxEnabled      bool
	taxType         string
	numberPadding   int
	numberFormat    string
	proforma        bool
	// creditsOnDowngrade is on unless the setting says otherwise, as in
	// Paymenter.
	creditsOnDowngrade bool
	// currencies are the codes of the currencies table, sorted; read with
	// the cached settings only (writes do not need them).
	currencies []string
}

// settingsTTL is how long reads outside a transaction reuse the global
// settings. Paymenter itself caches them (cache key "settings"), and they are
// on every quote's path; writes (invoice numbering, price changes) always
// read them fresh inside their transaction.
const settingsTTL = 5 * time.Second

// settingsCache holds the last global settings read outside a transaction.
type settingsCache struct {
	mu  sync.Mutex
	at  time.Time
	val panelSettings
}

// cachedSettings returns the global settings, read at most settingsTTL ago.
func (b *Binding) cachedSettings(ctx context.Context) (panelSettings, error) {
	b.settings.mu.Lock()
	defer b.settings.mu.Unlock()
	now := b.clock()
	if !b.settings.at.IsZero() && now.Sub(b.settings.at) < settingsTTL {
		return b.settings.val, nil
	}
	s, err := b.readSettings(ctx, nil)
	if err != nil {
		return s, err
	}
	if err := b.stmts.currencies.SelectContext(ctx, &s.currencies); err != nil {
		return s, mapDBError(fmt.Errorf("paymenter: read currencies: %w", err))
	}
	b.settings.at, b.settings.val = now, s
	return s, nil
}

// Settings returns the panel-wide settings (global rows: settingable_type IS
// NULL).
func (b *Binding) Settings(ctx context.Context) (hostapi.PanelSettings, error) {
	s, err := b.cachedSettings(ctx)
	if err != nil {
		return hostapi.PanelSettings{}, err
	}
	return hostapi.PanelSettings{
		Panel:              "paymenter",
		Timezone:           s.timezone,
		DefaultCurrency:    s.defaultCurrency,
		TaxEnabled:         s.taxEnabled,
		TaxType:            s.taxType,
		BaseURL:            b.baseURL,
		CreditsOnDowngrade: s.creditsOnDowngrade,
		Currencies:         slices.Clone(s.currencies),
	}, nil
}

// readSettings reads the global settings, in tx when one is given.
func (b *Binding) readSettings(ctx context.Context, tx *sqlx.Tx) (panelSettings, error) {
	var rows []settingRow
	if err := stmtIn(ctx, tx, b.stmts.globalSettings).SelectContext(ctx, &rows, stringArgs(globalSettingKeys)...); err != nil {
		return panelSettings{}, mapDBError(fmt.Errorf("paymenter: read settings: %w", err))
	}
	// Rows come in id order; a later duplicate wins, as in Paymenter.
	values := make(map[string]string, len(rows))
	for _, r := range rows {
		v, err := b.settingValue(r, "global")
		if err != nil {
			return panelSettings{}, err
		}
		values[r.Key] = v
	}
	s := panelSettings{
		timezone:           valueOr(values, "timezone", defaultTimezone),
		defaultCurrency:    values["default_currency"],
		taxEnabled:         phpBool(values["tax_enabled"]),
		taxType:            values["tax_type"],
		numberFormat:       valueOr(values, "invoice_number_format", defaultNumberFormat),
		numberPadding:      defaultNumberPadding,
		proforma:           phpBool(values["invoice_proforma"]),
		creditsOnDowngrade: true,
	}
	if v, ok := values["credits_on_downgrade"]; ok {
		s.creditsOnDowngrade = phpBool(v)
	}
	if n, err := strconv.Atoi(strings.TrimSpace(values["invoice_number_padding"])); err == nil && n > 0 {
		s.numberPadding = n
	}
	s.location = b.location(s.timezone)
	return s, nil
}

// settingValue returns a setting's value, decrypting it when encrypted = 1.
// scope names the settings' owner in errors ("global", "server 3").
func (b *Binding) settingValue(r settingRow, scope string) (string, error) {
	if !r.Encrypted {
		return r.Value.String, nil
	}
	if b.appKey.IsZero() {
		return "", hostapi.Errorf(hostapi.CodePrecondition,
			"paymenter: %s setting %q is encrypted and no APP_KEY is configured", scope, r.Key)
	}
	plain, err := b.appKey.DecryptString(r.Value.String)
	if err != nil {
		// laravelcrypt errors carry neither the key nor the value.
		return "", hostapi.Errorf(hostapi.CodePrecondition,
			"paymenter: decrypt %s setting %q (is APP_KEY the panel's?): %w", scope, r.Key, err)
	}
	return plain, nil
}

// phpBool reads a boolean setting the way PHP casts the stored string:
// "", "0" and "false"-like values are false.
func phpBool(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "on", "yes":
		return true
	}
	return false
}

func valueOr(values map[string]string, key, fallback string) string {
	if v := strings.TrimSpace(values[key]); v != "" {
		return v
	}
	return fallback
}

func stringArgs(ss []string) []any {
	args := make([]any, len(ss))
	for i, s := range ss {
		args[i] = s
	}
	return args
}
