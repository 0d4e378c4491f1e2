package hostapitest

import (
	"context"
	"fmt"

	"github.com/upsell-io/upsell/hostapi"
)

// go-plugin's in-process test server is built without the contract's server
// options, so the in-process runners wrap the implementation to turn a panic
// into a CodeInternal error, as hostapi.RecoverUnary does in a real plugin.

func recovered(method string, err *error) {
	if r := recover(); r != nil {
		*err = &hostapi.Error{Code: hostapi.CodeInternal, Message: fmt.Sprintf("panic in %s: %v", method, r)}
	}
}

type recoveringModule struct{ m hostapi.Module }

func (r recoveringModule) Describe(ctx context.Context) (_ hostapi.ModuleInfo, err error) {
	defer recovered("Describe", &err)
	return r.m.Describe(ctx)
}

func (r recoveringModule) Configure(ctx context.Context, h hostapi.Host, s map[string]string) (err error) {
	defer recovered("Configure", &err)
	return r.m.Configure(ctx, h, s)
}

func (r recoveringModule) HandleHTTP(ctx context.Context, req hostapi.HTTPRequest) (_ hostapi.HTTPResponse, err error) {
	defer recovered("HandleHTTP", &err)
	return r.m.HandleHTTP(ctx, req)
}

func (r recoveringModule) HandleEvent(ctx context.Context, ev hostapi.Event) (_ hostapi.EventResult, err error) {
	defer recovered("HandleEvent", &err)
	return r.m.HandleEvent(ctx, ev)
}

type recoveringAdapter struct{ a hostapi.Adapter }

func (r recoveringAdapter) Describe(ctx context.Context) (_ hostapi.AdapterInfo, err error) {
	defer recovered("Describe", &err)
	return r.a.Describe(ctx)
}

func (r recoveringAdapter) Configure(ctx context.Context, h hostapi.Host, s map[string]string) (err error) {
	defer recovered("Configure", &err)
	return r.a.Configure(ctx, h, s)
}

func (r recoveringAdapter) Read(ctx context.Context, ref hostapi.ServerRef) (_ hostapi.Limits, err error) {
	defer recovered("Read", &err)
	return r.a.Read(ctx, ref)
}

func (r recoveringAdapter) Apply(ctx context.Context, ref hostapi.ServerRef, t hostapi.Target) (_ hostapi.Applied, err error) {
	defer recovered("Apply", &err)
	return r.a.Apply(ctx, ref, t)
}

func (r recoveringAdapter) CheckCapacity(ctx context.Context, ref hostapi.ServerRef, t hostapi.Target) (err error) {
	defer recovered("CheckCapacity", &err)
	return r.a.CheckCapacity(ctx, ref, t)
}
