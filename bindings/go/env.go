package worker

/*
#include "glue.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
)

// Env is the worker's env (its second fetch argument): vars, secrets and bindings whose storage
// the host implements in Go, or libworker's embedded stores (KVDefault, R2Default, ...). It is
// read at each call, so changes show in the next request; a nil *Env is an empty env.
type Env struct {
	Vars     map[string]string      // env.NAME as a string
	Secrets  map[string]string      // strings kept apart so hosts can redact them
	JSONVars map[string]interface{} // env.NAME as the value, passed through JSON

	KV      map[string]KVStore     // KV namespaces
	Cache   CacheStore             // the store behind caches (nil: the engine's in-memory cache)
	Storage map[string]R2Store     // R2 buckets
	Queues  map[string]QueueSender // queue producers
	D1      map[string]D1Database  // D1 databases
	// Assets serves env.ASSETS (or env[AssetsBinding]).
	Assets        AssetsFetcher
	AssetsBinding string
}

// build makes a C env for one call; the caller frees it. Go stores go in as cgo handles that
// libworker releases once no env or worker uses them.
func (e *Env) build() (*C.wk_env_t, error) {
	if e == nil {
		return nil, nil
	}
	var env *C.wk_env_t
	var cerr *C.wk_error_t
	if st := C.wk_env_new(&env, &cerr); st != C.WK_OK {
		return nil, takeError(st, cerr)
	}
	if err := e.fill(env); err != nil {
		C.wk_env_free(env)
		return nil, err
	}
	return env, nil
}

func (e *Env) fill(env *C.wk_env_t) error {
	var cerr *C.wk_error_t
	check := func(st C.wk_status_t) error {
		if st != C.WK_OK {
			return takeError(st, cerr)
		}
		return nil
	}
	for k, v := range e.Vars {
		kp, kn := cstr(k)
		vp, vn := cstr(v)
		if err := check(C.wk_env_set_var(env, kp, kn, vp, vn, &cerr)); err != nil {
			return err
		}
	}
	for k, v := range e.Secrets {
		kp, kn := cstr(k)
		vp, vn := cstr(v)
		if err := check(C.wk_env_set_secret(env, kp, kn, vp, vn, &cerr)); err != nil {
			return err
		}
	}
	for k, v := range e.JSONVars {
		j, err := json.Marshal(v)
		if err != nil {
			return &WorkerError{Kind: KindInvalidArgument, Code: CodeInvalidArgument, Message: fmt.Sprintf("JSON var %s: %v", k, err)}
		}
		kp, kn := cstr(k)
		vp, vn := cstr(string(j))
		if err := check(C.wk_env_set_json(env, kp, kn, vp, vn, &cerr)); err != nil {
			return err
		}
	}
	for name, s := range e.KV {
		if err := check(addKV(env, name, s, &cerr)); err != nil {
			return err
		}
	}
	if e.Cache != nil {
		if err := check(setCache(env, e.Cache, &cerr)); err != nil {
			return err
		}
	}
	for name, s := range e.Storage {
		if err := check(addR2(env, name, s, &cerr)); err != nil {
			return err
		}
	}
	for name, q := range e.Queues {
		if err := check(addQueue(env, name, q, &cerr)); err != nil {
			return err
		}
	}
	for name, db := range e.D1 {
		if err := check(addD1(env, name, db, &cerr)); err != nil {
			return err
		}
	}
	if e.Assets != nil {
		name := e.AssetsBinding
		if name == "" {
			name = "ASSETS"
		}
		if err := check(addAssets(env, name, e.Assets, &cerr)); err != nil {
			return err
		}
	}
	return nil
}
