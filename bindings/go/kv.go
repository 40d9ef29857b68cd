package worker

/*
#include "glue.h"
*/
import "C"

import (
	"encoding/json"
	"sort"
	"time"
	"unsafe"
)

// KVStore is the storage behind a KV namespace. The runtime has already applied Cloudflare's
// rules (key and value sizes, metadata, expiry), so a store only keeps entries. Methods may be
// called from many goroutines at once. Expired entries are hidden from the worker by the
// package, so a store may keep them until it cleans up.
type KVStore interface {
	// Get returns the entry under key, or nil (and no error) when there is none.
	Get(key string) (*KVEntry, error)
	// Put stores entry under key, replacing any earlier one.
	Put(key string, entry KVEntry) error
	// Delete removes key; a missing key is not an error.
	Delete(key string) error
	// List returns up to limit keys starting with prefix, in byte order, after cursor ("" for
	// the start; otherwise a Cursor this store returned). Cursor must be set while more keys
	// remain (ListComplete false).
	List(prefix string, limit int, cursor string) (*KVListResult, error)
}

// KVEntry is a stored value with its metadata and expiry.
type KVEntry struct {
	Value      []byte
	Metadata   json.RawMessage // JSON, nil for none
	Expiration int64           // seconds since the UNIX epoch, 0 for never
}

// Key describes the entry as a List result under name.
func (e *KVEntry) Key(name string) KVKey {
	return KVKey{Name: name, Expiration: e.Expiration, Metadata: e.Metadata}
}

func (e *KVEntry) expired(now int64) bool { return e.Expiration != 0 && e.Expiration <= now }

// KVKey is one key of a List result.
type KVKey struct {
	Name       string          `json:"name"`
	Expiration int64           `json:"expiration,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

// KVListResult is one page of List.
type KVListResult struct {
	Keys         []KVKey `json:"keys"`
	ListComplete bool    `json:"list_complete"`
	Cursor       string  `json:"cursor,omitempty"`
}

// KVPage is the List answer of a store that gathers the matching keys itself: it sorts keys by
// name and keeps the first limit of them, with the cursor to continue after the last.
func KVPage(keys []KVKey, limit int) *KVListResult {
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
	if limit <= 0 || len(keys) <= limit {
		return &KVListResult{Keys: keys, ListComplete: true}
	}
	return &KVListResult{Keys: keys[:limit], Cursor: keys[limit-1].Name}
}

// KVDefault is libworker's embedded KV store: a SQLite file at path (created if missing) whose
// data survives restarts. Put it in Env.KV; its Go methods return an error, as the store lives
// inside libworker and is reached through a worker's env.
func KVDefault(path string) KVStore { return embeddedKV{path} }

type embeddedKV struct{ path string }

func (embeddedKV) Get(string) (*KVEntry, error)                    { return nil, errEmbedded }
func (embeddedKV) Put(string, KVEntry) error                       { return errEmbedded }
func (embeddedKV) Delete(string) error                             { return errEmbedded }
func (embeddedKV) List(string, int, string) (*KVListResult, error) { return nil, errEmbedded }

func addKV(env *C.wk_env_t, name string, s KVStore, cerr **C.wk_error_t) C.wk_status_t {
	n, nLen := cstr(name)
	if d, ok := s.(embeddedKV); ok {
		p, pLen := cstr(d.path)
		return C.wk_env_add_kv_default(env, n, nLen, p, pLen, cerr)
	}
	return C.wkgo_env_add_kv(env, n, nLen, newHandle(s), cerr)
}

func unixNow() int64 { return time.Now().Unix() }

//export wkgoKVGet
func wkgoKVGet(h C.uintptr_t, key *C.char, keyLen C.size_t, c *C.wk_completion_t) {
	s, k := handleValue(h).(KVStore), gostr(key, keyLen)
	settle(c, func(comp completion) error {
		e, err := s.Get(k)
		if err != nil {
			return err
		}
		if e == nil || e.expired(unixNow()) {
			return comp.resolveNull()
		}
		v, vLen := cbytes(e.Value)
		var meta *C.char
		var metaLen C.size_t
		if len(e.Metadata) > 0 {
			meta, metaLen = cstr(string(e.Metadata))
		}
		C.wk_completion_resolve_kv(comp.c, v, vLen, meta, metaLen, C.uint64_t(e.Expiration))
		return nil
	})
}

//export wkgoKVPut
func wkgoKVPut(h C.uintptr_t, key *C.char, keyLen C.size_t, value *C.uint8_t, valueLen C.size_t, meta *C.char, metaLen C.size_t, expiration C.uint64_t, c *C.wk_completion_t) {
	s, k := handleValue(h).(KVStore), gostr(key, keyLen)
	e := KVEntry{Value: gobytes(unsafe.Pointer(value), valueLen), Expiration: int64(expiration)}
	if meta != nil {
		e.Metadata = json.RawMessage(gostr(meta, metaLen))
	}
	settle(c, func(comp completion) error {
		if err := s.Put(k, e); err != nil {
			return err
		}
		return comp.resolve(nil)
	})
}

//export wkgoKVDelete
func wkgoKVDelete(h C.uintptr_t, key *C.char, keyLen C.size_t, c *C.wk_completion_t) {
	s, k := handleValue(h).(KVStore), gostr(key, keyLen)
	settle(c, func(comp completion) error {
		if err := s.Delete(k); err != nil {
			return err
		}
		return comp.resolve(nil)
	})
}

//export wkgoKVList
func wkgoKVList(h C.uintptr_t, prefix *C.char, prefixLen C.size_t, limit C.uint32_t, cursor *C.char, cursorLen C.size_t, c *C.wk_completion_t) {
	s, p, cur := handleValue(h).(KVStore), gostr(prefix, prefixLen), gostr(cursor, cursorLen)
	settle(c, func(comp completion) error {
		res, err := s.List(p, int(limit), cur)
		if err != nil {
			return err
		}
		if res == nil {
			res = &KVListResult{ListComplete: true}
		}
		out := *res
		out.Keys = make([]KVKey, 0, len(res.Keys))
		now := unixNow()
		for _, k := range res.Keys {
			if k.Expiration == 0 || k.Expiration > now {
				out.Keys = append(out.Keys, k)
			}
		}
		if out.ListComplete {
			out.Cursor = ""
		}
		j, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return comp.resolve(j)
	})
}
