package paymenter

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/upsell-io/upsell/adapters/paymenter/schema"
	"github.com/upsell-io/upsell/hostapi"
)

const (
	testServerHost = "https://ptero.example.test"
	testServerKey  = "ptla_SecretApplicationKey123"
)

func TestServerBinding(t *testing.T) {
	tests := []struct {
		name    string
		seedKey string // APP_KEY the api_key is encrypted with; "" = plaintext
		cfgKey  string // APP_KEY the binding is given
		prepare func(t *testing.T, f *fixture)
		code    hostapi.Code
	}{
		{name: "encrypted api_key", seedKey: testAppKey, cfgKey: testAppKey},
		{name: "plaintext api_key (encrypted = 0)", cfgKey: testAppKey},
		{name: "plaintext api_key without APP_KEY"},
		{name: "wrong APP_KEY", seedKey: testAppKey, cfgKey: otherAppKey, code: hostapi.CodePrecondition},
		{name: "encrypted but no APP_KEY configured", seedKey: testAppKey, code: hostapi.CodePrecondition},
		{
			name: "soft-deleted server", code: hostapi.CodeNotFound,
			prepare: func(t *testing.T, f *fixture) {
				f.exec(t, "UPDATE `extensions` SET `deleted_at` = '2025-01-01 00:00:00' WHERE `id` = ?", f.ids.ServerID)
			},
		},
		{
			name: "extension is a gateway", code: hostapi.CodeNotFound,
			prepare: func(t *testing.T, f *fixture) {
				f.exec(t, "UPDATE `extensions` SET `type` = 'gateway' WHERE `id` = ?", f.ids.ServerID)
			},
		},
		{
			name: "product without server", code: hostapi.CodeNotFound,
			prepare: func(t *testing.T, f *fixture) {
				f.exec(t, "UPDATE `products` SET `server_id` = NULL WHERE `id` = ?", f.ids.ProductID)
			},
		},
		{
			name: "server without api_key", code: hostapi.CodePrecondition,
			prepare: func(t *testing.T, f *fixture) {
				f.exec(t, "DELETE FROM `settings` WHERE `key` = 'api_key'")
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, schema.SeedOptions{
				AppKey:       tt.seedKey,
				ServerName:   "EU node",
				ServerHost:   testServerHost + "/",
				ServerAPIKey: testServerKey,
			}, Config{AppKey: tt.cfgKey})
			if tt.prepare != nil {
				tt.prepare(t, f)
			}
			var stored string
			if err := f.db.Get(&stored, "SELECT `value` FROM `settings` WHERE `key` = 'api_key'"); err != nil && tt.name != "server without api_key" {
				t.Fatal(err)
			}

			got, err := f.b.ServerBinding(context.Background(), f.ids.ServiceID)
			if tt.code != "" {
				wantCode(t, err, tt.code, "")
				t.Logf("error: %v", err)
				assertNoSecrets(t, err.Error(), testServerKey, testAppKey, otherAppKey, stored)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := ServerBinding{
				ServiceID: f.ids.ServiceID, ProductID: f.ids.ProductID, ExtensionID: f.ids.ServerID,
				Extension: "Pterodactyl", Name: "EU node", Enabled: true,
				Host: testServerHost, APIKey: testServerKey,
			}
			got.ProductSettings, want.ProductSettings = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("ServerBinding = %#v\nwant %#v (keys: %v)", got, want, got.APIKey == want.APIKey)
			}
		})
	}
}

func TestServerBindingProductSettings(t *testing.T) {
	f := newFixture(t, schema.SeedOptions{ProductSettings: map[string]string{"memory": "8192", "port_array": `{"SERVER_PORT":7777}`}}, Config{})
	got, err := f.b.ServerBinding(context.Background(), f.ids.ServiceID)
	if err != nil {
		t.Fatal(err)
	}
	want := schema.DefaultProductSettings()
	want["memory"] = "8192"
	want["port_array"] = `{"SERVER_PORT":7777}`
	if len(got.ProductSettings) != len(want) {
		t.Fatalf("%d product settings, want %d", len(got.ProductSettings), len(want))
	}
	for k, v := range want {
		if got.ProductSettings[k] != v {
			t.Fatalf("product setting %s = %q, want %q", k, got.ProductSettings[k], v)
		}
	}

	ref := got.Ref()
	if ref.ServiceID != f.ids.ServiceID || ref.Endpoint != got.Host || ref.Secret != got.APIKey || ref.Options["disk"] != want["disk"] {
		t.Fatalf("Ref() = %v", ref)
	}
	ref.Options["memory"] = "1"
	if got.ProductSettings["memory"] != "8192" {
		t.Fatal("Ref().Options aliases ProductSettings")
	}

	_, err = f.b.ServerBinding(context.Background(), 999999)
	wantCode(t, err, hostapi.CodeNotFound, "")
}

func TestServerBindingStringRedactsKey(t *testing.T) {
	b := ServerBinding{ServiceID: 1, ExtensionID: 2, Extension: "Pterodactyl", Name: "EU", Host: testServerHost, APIKey: testServerKey}
	holder := struct{ B ServerBinding }{b}
	for _, s := range []string{b.String(), fmt.Sprint(b), fmt.Sprintf("%+v", b), fmt.Sprintf("%#v", b), fmt.Sprintf("%v", holder), fmt.Sprintf("%+v", &b)} {
		assertNoSecrets(t, s, testServerKey)
	}
}
