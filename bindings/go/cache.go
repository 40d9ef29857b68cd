package worker

/*
#include "glue.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"time"
	"unsafe"
)

// CacheStore keeps the entries of a worker's Cache API (caches.default and caches.open). It is
// plain keyed storage: the runtime decides what may be stored and for how long, and answers
// Range and conditional requests itself. Methods may be called from many goroutines at once.
type CacheStore interface {
	// Match returns the entry under key, or nil when there is none.
	Match(key CacheKey) (*CacheEntry, error)
	// Put stores entry under key, replacing any earlier one. A store may drop entries at any
	// time, as a cache may.
	Put(key CacheKey, entry CacheEntry) error
	// Delete removes the entry under key and reports whether there was one.
	Delete(key CacheKey) (bool, error)
}

// CacheKey names an entry: the cache (Default for caches.default, else Cache is the name given
// to caches.open) and the request URL. It is comparable, so it can key a Go map.
type CacheKey struct {
	Cache   string
	Default bool
	URL     string
}

// CacheEntry is a stored response. Keep Headers as given.
type CacheEntry struct {
	Status    int
	Headers   [][2]string
	Body      []byte
	ExpiresAt time.Time // when it stops being fresh; an entry past it is a miss
}

// CacheMemory is an in-memory cache of the env's own holding at most maxBytes (0: 64 MiB),
// least recently used entries evicted first, instead of the engine's shared default. Like
// KVDefault, it lives inside libworker and its Go methods return an error.
func CacheMemory(maxBytes int64) CacheStore { return embeddedCache{maxBytes} }

type embeddedCache struct{ maxBytes int64 }

func (embeddedCache) Match(CacheKey) (*CacheEntry, error) { return nil, errEmbedded }
func (embeddedCache) Put(CacheKey, CacheEntry) error      { return errEmbedded }
func (embeddedCache) Delete(CacheKey) (bool, error)       { return false, errEmbedded }

func setCache(env *C.wk_env_t, s CacheStore, cerr **C.wk_error_t) C.wk_status_t {
	if m, ok := s.(embeddedCache); ok {
		return C.wk_env_set_cache_memory(env, C.uint64_t(m.maxBytes), cerr)
	}
	return C.wkgo_env_set_cache(env, newHandle(s), cerr)
}

func cacheKey(name *C.char, nameLen C.size_t, url *C.char, urlLen C.size_t) CacheKey {
	return CacheKey{Cache: gostr(name, nameLen), Default: name == nil, URL: gostr(url, urlLen)}
}

//export wkgoCacheGet
func wkgoCacheGet(h C.uintptr_t, name *C.char, nameLen C.size_t, url *C.char, urlLen C.size_t, c *C.wk_completion_t) {
	s, key := handleValue(h).(CacheStore), cacheKey(name, nameLen, url, urlLen)
	settle(c, func(comp completion) error {
		e, err := s.Match(key)
		if err != nil {
			return err
		}
		if e == nil || !e.ExpiresAt.After(time.Now()) {
			return comp.resolveNull()
		}
		headers := e.Headers
		if headers == nil {
			headers = [][2]string{}
		}
		hj, err := json.Marshal(headers)
		if err != nil {
			return err
		}
		hp, hLen := cstr(string(hj))
		b, bLen := cbytes(e.Body)
		ms := e.ExpiresAt.UnixNano() / int64(time.Millisecond)
		if st := C.wk_completion_resolve_cache(comp.c, C.uint16_t(e.Status), hp, hLen, b, bLen, C.uint64_t(ms)); st != C.WK_OK {
			return fmt.Errorf("cache entry for %s refused: %s", key.URL, C.GoString(C.wk_status_name(st)))
		}
		return nil
	})
}

//export wkgoCachePut
func wkgoCachePut(h C.uintptr_t, name *C.char, nameLen C.size_t, url *C.char, urlLen C.size_t, status C.uint16_t, headers *C.char, headersLen C.size_t, body *C.uint8_t, bodyLen C.size_t, expires C.uint64_t, c *C.wk_completion_t) {
	s, key := handleValue(h).(CacheStore), cacheKey(name, nameLen, url, urlLen)
	e := CacheEntry{
		Status:    int(status),
		Body:      gobytes(unsafe.Pointer(body), bodyLen),
		ExpiresAt: time.Unix(0, int64(expires)*int64(time.Millisecond)),
	}
	hj := gostr(headers, headersLen)
	settle(c, func(comp completion) error {
		if err := json.Unmarshal([]byte(hj), &e.Headers); err != nil {
			return err
		}
		if err := s.Put(key, e); err != nil {
			return err
		}
		return comp.resolve(nil)
	})
}

//export wkgoCacheDelete
func wkgoCacheDelete(h C.uintptr_t, name *C.char, nameLen C.size_t, url *C.char, urlLen C.size_t, c *C.wk_completion_t) {
	s, key := handleValue(h).(CacheStore), cacheKey(name, nameLen, url, urlLen)
	settle(c, func(comp completion) error {
		found, err := s.Delete(key)
		if err != nil {
			return err
		}
		if found {
			return comp.resolve([]byte{1})
		}
		return comp.resolve([]byte{0})
	})
}
