package paymenter

import (
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/upsell-io/upsell/hostapi"
)

// ServerBinding is the provisioning server a service's product is bound to,
// with its credentials and the product's settings for that server. String
// and GoString redact APIKey, so it can be logged.
type ServerBinding struct {
	ServiceID uint64
	ProductID uint64
	// ExtensionID is the extensions row (type server) of the server.
	ExtensionID uint64
	// Extension is the server extension's class, e.g. "Pterodactyl".
	Extension string
	// Name is the admin's label for the server.
	Name string
	// Enabled mirrors extensions.enabled.
	Enabled bool
	// Host is the provisioning panel's URL without a trailing "/" (the
	// extension trims it the same way).
	Host string
	// APIKey is the provisioning panel's API key, decrypted. Never log it.
	APIKey string
	// ProductSettings are the product's per-server settings (memory, disk,
	// cpu, egg_id, ...; arrays as JSON text), decrypted where encrypted.
	ProductSettings map[string]string
}

// String redacts the API key.
func (s ServerBinding) String() string {
	return fmt.Sprintf("%s server %d (%q) at %s for service %d, api key %s",
		s.Extension, s.ExtensionID, s.Name, s.Host, s.ServiceID, redacted(s.APIKey))
}

// GoString redacts the API key in %#v.
func (s ServerBinding) GoString() string { return s.String() }

// Ref is the hostapi.ServerRef an adapter needs: the provisioning panel's
// URL and key, the service id it finds the server by, and the product
// settings as options.
func (s ServerBinding) Ref() hostapi.ServerRef {
	return hostapi.ServerRef{
		ServiceID: s.ServiceID,
		Endpoint:  s.Host,
		Secret:    s.APIKey,
		Options:   maps.Clone(s.ProductSettings),
	}
}

// ServerBinding follows services.product_id -> products.server_id ->
// extensions (type server, not soft-deleted) -> its settings host and
// api_key, decrypting encrypted values with APP_KEY. A missing link in that
// chain is CodeNotFound; an encrypted key without (or with the wrong)
// APP_KEY, or a missing host or api_key, is CodePrecondition.
func (b *Binding) ServerBinding(ctx context.Context, serviceID uint64) (ServerBinding, error) {
	var link serviceServerRow
	if err := b.stmts.serviceServer.GetContext(ctx, &link, serviceID); err != nil {
		if isNoRows(err) {
			return ServerBinding{}, hostapi.Errorf(hostapi.CodeNotFound, "paymenter: service %d not found", serviceID)
		}
		return ServerBinding{}, mapDBError(fmt.Errorf("paymenter: read product of service %d: %w", serviceID, err))
	}
	if !link.ProductID.Valid {
		return ServerBinding{}, hostapi.Errorf(hostapi.CodeNotFound, "paymenter: service %d has no product", serviceID)
	}
	if !link.ServerID.Valid {
		return ServerBinding{}, hostapi.Errorf(hostapi.CodeNotFound, "paymenter: product %d of service %d has no server", link.ProductID.V, serviceID)
	}
	ext, err := b.serverExtension(ctx, link.ServerID.V)
	if err != nil {
		return ServerBinding{}, err
	}
	scope := fmt.Sprintf("server %d", ext.ID)
	productScope := fmt.Sprintf("product %d", link.ProductID.V)
	// Both owners' settings in one statement. Only the server's host and
	// api_key are read (and decrypted): its other settings are the
	// extension's business.
	var rows []ownedSettingRow
	if err := b.stmts.serverAndProductSettings.SelectContext(ctx, &rows, TypeServer, ext.ID, TypeProduct, link.ProductID.V); err != nil {
		return ServerBinding{}, mapDBError(fmt.Errorf("paymenter: read settings of %s and %s: %w", scope, productScope, err))
	}
	serverSettings, productSettings := map[string]string{}, map[string]string{}
	for _, r := range rows {
		dst, owner := productSettings, productScope
		if r.Type == TypeServer {
			if r.Key != "host" && r.Key != "api_key" {
				continue
			}
			dst, owner = serverSettings, scope
		}
		v, err := b.settingValue(r.settingRow, owner)
		if err != nil {
			return ServerBinding{}, err
		}
		dst[r.Key] = v
	}
	out := ServerBinding{
		ServiceID:       serviceID,
		ProductID:       link.ProductID.V,
		ExtensionID:     ext.ID,
		Extension:       ext.Extension,
		Name:            ext.Name,
		Enabled:         ext.Enabled,
		Host:            strings.TrimRight(strings.TrimSpace(serverSettings["host"]), "/"),
		APIKey:          serverSettings["api_key"],
		ProductSettings: productSettings,
	}
	if out.Host == "" || out.APIKey == "" {
		return ServerBinding{}, hostapi.Errorf(hostapi.CodePrecondition, "paymenter: %s has no host or api_key setting", scope)
	}
	return out, nil
}

func (b *Binding) serverExtension(ctx context.Context, id uint64) (extensionRow, error) {
	var ext extensionRow
	if err := b.stmts.serverExtension.GetContext(ctx, &ext, id); err != nil {
		if isNoRows(err) {
			return ext, hostapi.Errorf(hostapi.CodeNotFound, "paymenter: server %d not found (no extensions row of type server, or deleted)", id)
		}
		return ext, mapDBError(fmt.Errorf("paymenter: read server %d: %w", id, err))
	}
	return ext, nil
}
