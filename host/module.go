package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/runlet/runlet/host/fetch"
	"github.com/runlet/runlet/pdk"
)

// ModuleName is the import module name of runlet's host functions.
const ModuleName = "runlet"

// Instantiate adds the "runlet" host module to rt. Call it once per runtime.
func Instantiate(ctx context.Context, rt wazero.Runtime) error {
	i32 := api.ValueTypeI32
	b := rt.NewHostModuleBuilder(ModuleName)
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(resultSet), []api.ValueType{i32, i32}, nil).Export("result_set")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(errorSet), []api.ValueType{i32, i32}, nil).Export("error_set")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(logLine), []api.ValueType{i32, i32, i32}, nil).Export("log")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(call), []api.ValueType{i32, i32, i32}, []api.ValueType{api.ValueTypeI64}).Export("call")
	b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(recv), []api.ValueType{i32}, nil).Export("recv")
	_, err := b.Instantiate(ctx)
	return err
}

// read returns guest memory [ptr, ptr+n) or aborts the call.
func read(mod api.Module, ptr, n uint32) []byte {
	b, ok := mod.Memory().Read(ptr, n)
	if !ok {
		panic(fmt.Errorf("runlet: guest passed out-of-range memory [%d, +%d)", ptr, n))
	}
	return b
}

func mustJob(ctx context.Context) *Job {
	j := jobFrom(ctx)
	if j == nil {
		panic(errors.New("runlet: host call outside a job"))
	}
	return j
}

func resultSet(ctx context.Context, mod api.Module, stack []uint64) {
	j := mustJob(ctx)
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	if j.MaxResult > 0 && int64(n) > j.MaxResult {
		j.exceed("result", j.MaxResult)
		panic(&LimitError{Kind: "result", Limit: j.MaxResult})
	}
	b := append([]byte(nil), read(mod, ptr, n)...)
	j.mu.Lock()
	j.result = b
	j.mu.Unlock()
}

func errorSet(ctx context.Context, mod api.Module, stack []uint64) {
	j := mustJob(ctx)
	ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1])
	if j.MaxResult > 0 && int64(n) > j.MaxResult {
		n = uint32(j.MaxResult) // keep the start of an oversized error document
	}
	b := append([]byte(nil), read(mod, ptr, n)...)
	j.mu.Lock()
	j.failure = b
	j.mu.Unlock()
}

func logLine(ctx context.Context, mod api.Module, stack []uint64) {
	j := mustJob(ctx)
	level := Level(api.DecodeU32(stack[0]))
	if level > LevelError {
		level = LevelError
	}
	j.countCall()
	j.Logs.Add(level, string(read(mod, api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))))
	if j.Logs.Overflowed() {
		j.exceed("logs", j.Logs.max)
	}
}

func (j *Job) countCall() {
	if err := j.count(); err != nil {
		panic(err)
	}
}

// count counts one host call and returns the LimitError past MaxHostCalls.
func (j *Job) count() *LimitError {
	j.mu.Lock()
	j.calls++
	over := j.MaxHostCalls > 0 && j.calls > j.MaxHostCalls
	j.mu.Unlock()
	if over {
		j.exceed("host calls", int64(j.MaxHostCalls))
		return &LimitError{Kind: "host calls", Limit: int64(j.MaxHostCalls)}
	}
	return nil
}

func call(ctx context.Context, mod api.Module, stack []uint64) {
	j := mustJob(ctx)
	j.countCall()
	op := pdk.Op(api.DecodeU32(stack[0]))
	req := read(mod, api.DecodeU32(stack[1]), api.DecodeU32(stack[2]))
	resp, err := j.dispatch(ctx, op, req)
	status := uint64(pdk.StatusOK)
	switch {
	case errors.Is(err, ErrUnsupported):
		status, resp = pdk.StatusUnsupported, nil
	case err != nil:
		status, resp = pdk.StatusFailed, []byte(err.Error())
	}
	if j.MaxResult > 0 && int64(len(resp)) > j.MaxResult {
		status, resp = pdk.StatusFailed, []byte(fmt.Sprintf("host response of %d bytes exceeds the %d-byte limit", len(resp), j.MaxResult))
	}
	j.mu.Lock()
	j.pending = resp
	j.mu.Unlock()
	stack[0] = status<<32 | uint64(len(resp))
}

func recv(ctx context.Context, mod api.Module, stack []uint64) {
	j := mustJob(ctx)
	j.mu.Lock()
	p := j.pending
	j.pending = nil
	j.mu.Unlock()
	if !mod.Memory().Write(api.DecodeU32(stack[0]), p) {
		panic(errors.New("runlet: recv into out-of-range memory"))
	}
}

func (j *Job) dispatch(ctx context.Context, op pdk.Op, req []byte) ([]byte, error) {
	if op == pdk.OpHTTP {
		var r fetch.Request
		if err := json.Unmarshal(req, &r); err != nil {
			return nil, fmt.Errorf("decode request: %w", err)
		}
		resp, err := j.fetch(ctx, r)
		if err != nil {
			return nil, err
		}
		return json.Marshal(resp)
	}
	if j.Caller == nil {
		return nil, ErrUnsupported
	}
	return j.Caller.Call(ctx, op, req)
}

func (j *Job) fetch(ctx context.Context, r fetch.Request) (*fetch.Response, error) {
	if j.Fetcher == nil {
		return nil, fmt.Errorf("outbound HTTP is not granted to this script")
	}
	return j.Fetcher.Do(ctx, j.Policy, r)
}
