package worker

/*
#include "glue.h"
*/
import "C"

import (
	"net/http"
	"unsafe"
)

// AssetsFetcher serves a worker's static assets (env.ASSETS.fetch). The runtime parses the
// worker's arguments and follows redirects; Fetch answers one request (Method, absolute URL of
// which only the path matters, and the worker's headers such as If-None-Match). A missing
// asset is a 404 response, not an error; an error rejects the worker's promise.
type AssetsFetcher interface {
	Fetch(req *WorkerRequest) (*WorkerResponse, error)
}

// HTMLHandling is wrangler's assets.html_handling.
type HTMLHandling int

// The html_handling rules.
const (
	AutoTrailingSlash  HTMLHandling = C.WK_HTML_HANDLING_AUTO_TRAILING_SLASH
	ForceTrailingSlash HTMLHandling = C.WK_HTML_HANDLING_FORCE_TRAILING_SLASH
	DropTrailingSlash  HTMLHandling = C.WK_HTML_HANDLING_DROP_TRAILING_SLASH
	NoHTMLHandling     HTMLHandling = C.WK_HTML_HANDLING_NONE
)

// NotFoundHandling is wrangler's assets.not_found_handling.
type NotFoundHandling int

// The not_found_handling rules.
const (
	NotFoundNone          NotFoundHandling = C.WK_NOT_FOUND_NONE
	SinglePageApplication NotFoundHandling = C.WK_NOT_FOUND_SINGLE_PAGE_APPLICATION
	NotFound404Page       NotFoundHandling = C.WK_NOT_FOUND_404_PAGE
)

// AssetsOptions are the serving rules of AssetsDefault.
type AssetsOptions struct {
	HTMLHandling     HTMLHandling
	NotFoundHandling NotFoundHandling
}

// AssetsDefault is libworker's embedded asset server over the directory dir, with Cloudflare's
// rules (redirects, ETags, HEAD, content types). Its Go method returns an error: it lives
// inside libworker and is reached through a worker's env.
func AssetsDefault(dir string, opts AssetsOptions) AssetsFetcher { return embeddedAssets{dir, opts} }

type embeddedAssets struct {
	dir  string
	opts AssetsOptions
}

func (embeddedAssets) Fetch(*WorkerRequest) (*WorkerResponse, error) { return nil, errEmbedded }

func addAssets(env *C.wk_env_t, name string, a AssetsFetcher, cerr **C.wk_error_t) C.wk_status_t {
	n, nLen := cstr(name)
	if d, ok := a.(embeddedAssets); ok {
		p, pLen := cstr(d.dir)
		return C.wk_env_add_assets_default(env, n, nLen, p, pLen, C.wk_html_handling_t(d.opts.HTMLHandling), C.wk_not_found_handling_t(d.opts.NotFoundHandling), cerr)
	}
	return C.wkgo_env_add_assets(env, n, nLen, newHandle(a), cerr)
}

//export wkgoAssetsFetch
func wkgoAssetsFetch(h C.uintptr_t, method *C.char, methodLen C.size_t, url *C.char, urlLen C.size_t, headers *C.wk_header_t, n C.size_t, c *C.wk_completion_t) {
	a := handleValue(h).(AssetsFetcher)
	req := &WorkerRequest{Method: gostr(method, methodLen), URL: gostr(url, urlLen), Headers: make(http.Header, int(n))}
	for _, hd := range unsafe.Slice(headers, int(n)) {
		req.Headers.Add(gostr(hd.name, hd.name_len), gostr(hd.value, hd.value_len))
	}
	settle(c, func(comp completion) error {
		res, err := a.Fetch(req)
		if err != nil {
			return err
		}
		if res == nil {
			res = &WorkerResponse{StatusCode: http.StatusNotFound}
		}
		status := res.StatusCode
		if status == 0 {
			status = http.StatusOK
		}
		hp, hn, free := cHeaders(res.Headers)
		defer free()
		b, bLen := cbytes(res.Body)
		st := C.wk_completion_resolve_asset(comp.c, C.uint16_t(status), hp, hn, b, bLen)
		if st != C.WK_OK {
			return takeError(st, nil)
		}
		return nil
	})
}

// cHeaders lays out headers as wk_header_t entries in one C allocation: the array holds
// pointers to the names and values, and cgo does not let C see Go memory that holds pointers.
func cHeaders(h http.Header) (*C.wk_header_t, C.size_t, func()) {
	count, size := 0, 0
	for name, values := range h {
		count += len(values)
		size += len(values) * len(name)
		for _, v := range values {
			size += len(v)
		}
	}
	if count == 0 {
		return nil, 0, func() {}
	}
	entry := int(unsafe.Sizeof(C.wk_header_t{}))
	// One spare byte gives an empty value at the end a valid address.
	block := C.malloc(C.size_t(count*entry + size + 1))
	entries := unsafe.Slice((*C.wk_header_t)(block), count)
	text := unsafe.Slice((*byte)(unsafe.Add(block, count*entry)), size+1)
	i, off := 0, 0
	put := func(s string) (*C.char, C.size_t) {
		p := (*C.char)(unsafe.Pointer(&text[off]))
		off += copy(text[off:], s)
		return p, C.size_t(len(s))
	}
	for name, values := range h {
		for _, v := range values {
			entries[i].name, entries[i].name_len = put(name)
			entries[i].value, entries[i].value_len = put(v)
			i++
		}
	}
	return &entries[0], C.size_t(count), func() { C.free(block) }
}
