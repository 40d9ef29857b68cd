package worker

/*
#include "glue.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"io"
	"time"
	"unsafe"
)

// R2Store is the storage behind an R2 bucket. The runtime validates keys, options and limits
// with Cloudflare's rules and verifies checksums; errors reject the worker's promise with
// "<method>: <error>". Methods may be called from many goroutines at once.
type R2Store interface {
	// Head returns the object under key, or nil when there is none.
	Head(key string) (*R2Object, error)
	// Get returns the object under key (nil when there is none) and a reader of the bytes
	// opts.ResolveRange picks (set R2Object.Range to them). When opts.Holds is false for the
	// object, return it with a nil reader: the worker gets the object without a body. A
	// reader that is an io.Closer is closed once streamed.
	Get(key string, opts R2GetOptions) (*R2Object, io.Reader, error)
	// Put reads body to its end and stores it under key if opts.Holds for the current object
	// (checked atomically with the write), returning the new object (its ETag is the MD5 hex
	// of the bytes); nil when the condition fails. If reading body fails, store nothing and
	// return the error.
	Put(key string, body io.Reader, opts R2PutOptions) (*R2Object, error)
	// Delete removes the keys; missing keys are fine.
	Delete(keys []string) error
	// List returns objects in byte order of their keys, as R2's list does (see R2ListOptions).
	List(opts R2ListOptions) (*R2ListResult, error)
}

// R2MultipartStore is what an R2Store may also implement for multipart uploads; without it the
// worker's multipart calls fail with "Multipart uploads are not supported by this bucket.".
type R2MultipartStore interface {
	CreateMultipartUpload(key string, opts R2MultipartOptions) (uploadID string, err error)
	// UploadPart stores part partNumber (1..10000, replacing an earlier one) of size bytes read
	// from body and returns its etag; for an unknown upload, fail with
	// "The specified multipart upload does not exist. (10024)".
	UploadPart(key, uploadID string, partNumber int, size int64, body io.Reader) (etag string, err error)
	// CompleteMultipartUpload joins the parts into the object key with R2's rules and error
	// texts.
	CompleteMultipartUpload(key, uploadID string, parts []R2UploadedPart) (*R2Object, error)
	// AbortMultipartUpload discards the upload; an unknown one is fine.
	AbortMultipartUpload(key, uploadID string) error
}

// R2Object is an object's metadata.
type R2Object struct {
	Key            string
	Version        string // changes on every write; "" means the ETag
	Size           int64
	ETag           string // unquoted: the MD5 hex of the bytes, or "<hex>-<parts>"
	Uploaded       time.Time
	HTTPMetadata   R2HTTPMetadata
	CustomMetadata map[string]string
	Checksums      map[string]string // algorithm ("md5", "sha256", ...) to hex digest
	StorageClass   string            // "" means "Standard"
	Range          *R2Range          // Get: the bytes the body carries; nil is the whole object
}

// R2HTTPMetadata are the HTTP headers an object is served with; empty fields are absent.
type R2HTTPMetadata struct {
	ContentType        string    `json:"contentType,omitempty"`
	ContentLanguage    string    `json:"contentLanguage,omitempty"`
	ContentDisposition string    `json:"contentDisposition,omitempty"`
	ContentEncoding    string    `json:"contentEncoding,omitempty"`
	CacheControl       string    `json:"cacheControl,omitempty"`
	CacheExpiry        time.Time `json:"-"`
}

// R2Range is a span of an object's bytes.
type R2Range struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// R2UploadedPart names one part of a multipart upload.
type R2UploadedPart struct {
	PartNumber int    `json:"partNumber"`
	ETag       string `json:"etag"`
}

// R2GetOptions carry a get's onlyIf and range, evaluated with R2's rules by Holds and
// ResolveRange. JSON is the options as libworker passed them.
type R2GetOptions struct{ JSON string }

// Holds reports whether the get's onlyIf condition holds for an object with this etag and
// upload time (true without a condition).
func (o R2GetOptions) Holds(etag string, uploaded time.Time) (bool, error) {
	return conditionalHolds(o.JSON, etag, uploaded)
}

// ResolveRange gives the bytes to serve of an object of size bytes (all of them without a
// range); an error with Cloudflare's message when the range starts past the end.
func (o R2GetOptions) ResolveRange(size int64) (R2Range, error) {
	j, jLen := cstr(o.JSON)
	var off, n C.uint64_t
	var cerr *C.wk_error_t
	if st := C.wk_r2_resolve_range(j, jLen, C.uint64_t(size), &off, &n, &cerr); st != C.WK_OK {
		return R2Range{}, errors.New(takeError(st, cerr).(*WorkerError).Message)
	}
	return R2Range{Offset: int64(off), Length: int64(n)}, nil
}

// R2PutOptions describe the object a put stores.
type R2PutOptions struct {
	HTTPMetadata   R2HTTPMetadata
	CustomMetadata map[string]string
	Checksums      map[string]string // already verified against the bytes by the runtime
	StorageClass   string
	Size           int64
	JSON           string // the options as libworker passed them
}

// Holds reports whether the put's onlyIf condition holds for the current object (etag "" and a
// zero time when there is none).
func (o R2PutOptions) Holds(etag string, uploaded time.Time) (bool, error) {
	return conditionalHolds(o.JSON, etag, uploaded)
}

// R2MultipartOptions describe the object a multipart upload completes into.
type R2MultipartOptions struct {
	HTTPMetadata   R2HTTPMetadata
	CustomMetadata map[string]string
	StorageClass   string
}

// R2ListOptions: at most Limit objects plus delimited prefixes whose keys start with Prefix,
// after StartAfter or the Cursor a previous page returned; with a Delimiter, keys whose rest
// after the prefix contains it roll up into DelimitedPrefixes (up to and including the
// delimiter). Include lists "httpMetadata" and/or "customMetadata" to return.
type R2ListOptions struct {
	Limit      int      `json:"limit"`
	Prefix     string   `json:"prefix"`
	Cursor     string   `json:"cursor"`
	Delimiter  string   `json:"delimiter"`
	StartAfter string   `json:"startAfter"`
	Include    []string `json:"include"`
}

// R2ListResult is one page of List; Cursor must be set while Truncated.
type R2ListResult struct {
	Objects           []R2Object
	DelimitedPrefixes []string
	Truncated         bool
	Cursor            string
}

func conditionalHolds(options, etag string, uploaded time.Time) (bool, error) {
	j, jLen := cstr(options)
	var e *C.char
	var eLen C.size_t
	if etag != "" {
		e, eLen = cstr(etag)
	}
	var holds C.int32_t
	var cerr *C.wk_error_t
	ms := float64(uploaded.UnixNano()) / float64(time.Millisecond)
	if uploaded.IsZero() {
		ms = 0
	}
	if st := C.wk_r2_conditional_holds(j, jLen, e, eLen, C.double(ms), &holds, &cerr); st != C.WK_OK {
		return false, takeError(st, cerr)
	}
	return holds != 0, nil
}

// R2Default is libworker's embedded bucket: objects as files plus a SQLite index under dir.
// Its Go methods return an error.
func R2Default(dir string) R2Store { return embeddedR2{dir} }

type embeddedR2 struct{ dir string }

func (embeddedR2) Head(string) (*R2Object, error) { return nil, errEmbedded }
func (embeddedR2) Get(string, R2GetOptions) (*R2Object, io.Reader, error) {
	return nil, nil, errEmbedded
}
func (embeddedR2) Put(string, io.Reader, R2PutOptions) (*R2Object, error) { return nil, errEmbedded }
func (embeddedR2) Delete([]string) error                                  { return errEmbedded }
func (embeddedR2) List(R2ListOptions) (*R2ListResult, error)              { return nil, errEmbedded }

func addR2(env *C.wk_env_t, name string, s R2Store, cerr **C.wk_error_t) C.wk_status_t {
	n, nLen := cstr(name)
	if d, ok := s.(embeddedR2); ok {
		p, pLen := cstr(d.dir)
		return C.wk_env_add_r2_default(env, n, nLen, p, pLen, cerr)
	}
	_, multipart := s.(R2MultipartStore)
	m := C.int(0)
	if multipart {
		m = 1
	}
	return C.wkgo_env_add_r2(env, n, nLen, newHandle(s), m, cerr)
}

// ---- JSON wire shapes ----

type r2Wire struct {
	Key            string            `json:"key"`
	Version        string            `json:"version,omitempty"`
	Size           int64             `json:"size"`
	ETag           string            `json:"etag"`
	Uploaded       float64           `json:"uploaded"`
	HTTPMetadata   json.RawMessage   `json:"httpMetadata,omitempty"`
	CustomMetadata map[string]string `json:"customMetadata,omitempty"`
	Checksums      map[string]string `json:"checksums,omitempty"`
	StorageClass   string            `json:"storageClass,omitempty"`
	Range          *R2Range          `json:"range,omitempty"`
}

func msOf(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / float64(time.Millisecond)
}

func timeOfMs(ms float64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(ms*float64(time.Millisecond)))
}

func (m R2HTTPMetadata) wire() json.RawMessage {
	type plain R2HTTPMetadata // the same fields without this method
	w := struct {
		plain
		CacheExpiry *float64 `json:"cacheExpiry,omitempty"`
	}{plain: plain(m)}
	if !m.CacheExpiry.IsZero() {
		ms := msOf(m.CacheExpiry)
		w.CacheExpiry = &ms
	}
	j, _ := json.Marshal(w)
	return j
}

func httpMetadataOf(raw json.RawMessage) R2HTTPMetadata {
	var w struct {
		R2HTTPMetadata
		CacheExpiry float64 `json:"cacheExpiry"`
	}
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &w)
	}
	m := w.R2HTTPMetadata
	m.CacheExpiry = timeOfMs(w.CacheExpiry)
	return m
}

func (o *R2Object) wire() r2Wire {
	return r2Wire{
		Key: o.Key, Version: o.Version, Size: o.Size, ETag: o.ETag, Uploaded: msOf(o.Uploaded),
		HTTPMetadata: o.HTTPMetadata.wire(), CustomMetadata: o.CustomMetadata,
		Checksums: o.Checksums, StorageClass: o.StorageClass, Range: o.Range,
	}
}

func (o *R2Object) json() ([]byte, error) { return json.Marshal(o.wire()) }

func resolveObject(comp completion, o *R2Object) error {
	if o == nil {
		return comp.resolveNull()
	}
	j, err := o.json()
	if err != nil {
		return err
	}
	return comp.resolve(j)
}

// ---- bodies ----

// bodyReader reads a wk_body_t a put or upload_part received. It runs on the store's
// goroutine, never on a libworker thread, so a read may wait for the worker's stream.
type bodyReader struct {
	body *C.wk_body_t
	err  error
}

func (r *bodyReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n C.size_t
	var cerr *C.wk_error_t
	buf := C.malloc(C.size_t(len(p)))
	defer C.free(buf)
	if st := C.wk_body_read(r.body, (*C.uint8_t)(buf), C.size_t(len(p)), &n, &cerr); st != C.WK_OK {
		r.err = errors.New(takeError(st, cerr).(*WorkerError).Message)
		return 0, r.err
	}
	if n == 0 {
		r.err = io.EOF
		return 0, io.EOF
	}
	copy(p, unsafe.Slice((*byte)(buf), int(n)))
	return int(n), nil
}

// failed is the body's own failure (a broken stream, a checksum mismatch), if any.
func (r *bodyReader) failed() error {
	if r.err == io.EOF {
		return nil
	}
	return r.err
}

const bodyChunk = 64 << 10

// streamBody writes src into a body from wk_body_new, then closes it (failing it if src fails)
// and frees it.
func streamBody(body *C.wk_body_t, src io.Reader) {
	defer C.wk_body_free(body)
	if c, ok := src.(io.Closer); ok {
		defer c.Close()
	}
	buf := C.malloc(bodyChunk)
	defer C.free(buf)
	chunk := unsafe.Slice((*byte)(buf), bodyChunk)
	for {
		n, err := src.Read(chunk)
		if n > 0 {
			if st := C.wk_body_write(body, (*C.uint8_t)(buf), C.size_t(n), nil); st != C.WK_OK {
				return // the worker stopped reading
			}
		}
		if err == io.EOF {
			C.wk_body_close(body, nil, 0)
			return
		}
		if err != nil {
			msg, msgLen := cstr(err.Error())
			C.wk_body_close(body, msg, msgLen)
			return
		}
	}
}

// ---- callbacks ----

//export wkgoR2Head
func wkgoR2Head(h C.uintptr_t, key *C.char, keyLen C.size_t, c *C.wk_completion_t) {
	s, k := handleValue(h).(R2Store), gostr(key, keyLen)
	settle(c, func(comp completion) error {
		o, err := s.Head(k)
		if err != nil {
			return err
		}
		return resolveObject(comp, o)
	})
}

//export wkgoR2Get
func wkgoR2Get(h C.uintptr_t, key *C.char, keyLen C.size_t, opts *C.char, optsLen C.size_t, c *C.wk_completion_t) {
	s, k, o := handleValue(h).(R2Store), gostr(key, keyLen), R2GetOptions{gostr(opts, optsLen)}
	settle(c, func(comp completion) error {
		obj, body, err := s.Get(k, o)
		if err != nil {
			if cl, ok := body.(io.Closer); ok {
				cl.Close()
			}
			return err
		}
		if obj == nil || body == nil {
			return resolveObject(comp, obj)
		}
		j, err := obj.json()
		if err != nil {
			return err
		}
		var b *C.wk_body_t
		var cerr *C.wk_error_t
		if st := C.wk_body_new(&b, &cerr); st != C.WK_OK {
			return takeError(st, cerr)
		}
		jp, jLen := cstr(string(j))
		if st := C.wk_completion_resolve_r2_body(comp.c, jp, jLen, b); st != C.WK_OK {
			C.wk_body_free(b)
			return takeError(st, nil)
		}
		streamBody(b, body)
		return nil
	})
}

//export wkgoR2Put
func wkgoR2Put(h C.uintptr_t, key *C.char, keyLen C.size_t, opts *C.char, optsLen C.size_t, body *C.wk_body_t, c *C.wk_completion_t) {
	s, k, oj := handleValue(h).(R2Store), gostr(key, keyLen), gostr(opts, optsLen)
	settle(c, func(comp completion) error {
		r := &bodyReader{body: body}
		defer C.wk_body_free(body)
		var w struct {
			HTTPMetadata   json.RawMessage   `json:"httpMetadata"`
			CustomMetadata map[string]string `json:"customMetadata"`
			Checksums      map[string]string `json:"checksums"`
			StorageClass   string            `json:"storageClass"`
			Size           int64             `json:"size"`
		}
		if err := json.Unmarshal([]byte(oj), &w); err != nil {
			return err
		}
		o := R2PutOptions{
			HTTPMetadata: httpMetadataOf(w.HTTPMetadata), CustomMetadata: w.CustomMetadata,
			Checksums: w.Checksums, StorageClass: w.StorageClass, Size: w.Size, JSON: oj,
		}
		obj, err := s.Put(k, r, o)
		if failed := r.failed(); failed != nil {
			return failed
		}
		if err != nil {
			return err
		}
		return resolveObject(comp, obj)
	})
}

//export wkgoR2Remove
func wkgoR2Remove(h C.uintptr_t, keys *C.char, keysLen C.size_t, c *C.wk_completion_t) {
	s, kj := handleValue(h).(R2Store), gostr(keys, keysLen)
	settle(c, func(comp completion) error {
		var ks []string
		if err := json.Unmarshal([]byte(kj), &ks); err != nil {
			return err
		}
		if err := s.Delete(ks); err != nil {
			return err
		}
		return comp.resolve(nil)
	})
}

//export wkgoR2List
func wkgoR2List(h C.uintptr_t, opts *C.char, optsLen C.size_t, c *C.wk_completion_t) {
	s, oj := handleValue(h).(R2Store), gostr(opts, optsLen)
	settle(c, func(comp completion) error {
		var o R2ListOptions
		if err := json.Unmarshal([]byte(oj), &o); err != nil {
			return err
		}
		res, err := s.List(o)
		if err != nil {
			return err
		}
		if res == nil {
			res = &R2ListResult{}
		}
		out := struct {
			Objects           []r2Wire `json:"objects"`
			DelimitedPrefixes []string `json:"delimitedPrefixes"`
			Truncated         bool     `json:"truncated"`
			Cursor            string   `json:"cursor,omitempty"`
		}{make([]r2Wire, len(res.Objects)), res.DelimitedPrefixes, res.Truncated, res.Cursor}
		for i := range res.Objects {
			out.Objects[i] = res.Objects[i].wire()
		}
		if out.DelimitedPrefixes == nil {
			out.DelimitedPrefixes = []string{}
		}
		j, err := json.Marshal(out)
		if err != nil {
			return err
		}
		return comp.resolve(j)
	})
}

//export wkgoR2CreateMultipart
func wkgoR2CreateMultipart(h C.uintptr_t, key *C.char, keyLen C.size_t, opts *C.char, optsLen C.size_t, c *C.wk_completion_t) {
	s, k, oj := handleValue(h).(R2MultipartStore), gostr(key, keyLen), gostr(opts, optsLen)
	settle(c, func(comp completion) error {
		var w struct {
			HTTPMetadata   json.RawMessage   `json:"httpMetadata"`
			CustomMetadata map[string]string `json:"customMetadata"`
			StorageClass   string            `json:"storageClass"`
		}
		if err := json.Unmarshal([]byte(oj), &w); err != nil {
			return err
		}
		id, err := s.CreateMultipartUpload(k, R2MultipartOptions{httpMetadataOf(w.HTTPMetadata), w.CustomMetadata, w.StorageClass})
		if err != nil {
			return err
		}
		return comp.resolve([]byte(id))
	})
}

//export wkgoR2UploadPart
func wkgoR2UploadPart(h C.uintptr_t, key *C.char, keyLen C.size_t, id *C.char, idLen C.size_t, part C.uint32_t, size C.uint64_t, body *C.wk_body_t, c *C.wk_completion_t) {
	s, k, uid := handleValue(h).(R2MultipartStore), gostr(key, keyLen), gostr(id, idLen)
	settle(c, func(comp completion) error {
		r := &bodyReader{body: body}
		defer C.wk_body_free(body)
		etag, err := s.UploadPart(k, uid, int(part), int64(size), r)
		if failed := r.failed(); failed != nil {
			return failed
		}
		if err != nil {
			return err
		}
		return comp.resolve([]byte(etag))
	})
}

//export wkgoR2CompleteMultipart
func wkgoR2CompleteMultipart(h C.uintptr_t, key *C.char, keyLen C.size_t, id *C.char, idLen C.size_t, parts *C.char, partsLen C.size_t, c *C.wk_completion_t) {
	s, k, uid, pj := handleValue(h).(R2MultipartStore), gostr(key, keyLen), gostr(id, idLen), gostr(parts, partsLen)
	settle(c, func(comp completion) error {
		var ps []R2UploadedPart
		if err := json.Unmarshal([]byte(pj), &ps); err != nil {
			return err
		}
		o, err := s.CompleteMultipartUpload(k, uid, ps)
		if err != nil {
			return err
		}
		return resolveObject(comp, o)
	})
}

//export wkgoR2AbortMultipart
func wkgoR2AbortMultipart(h C.uintptr_t, key *C.char, keyLen C.size_t, id *C.char, idLen C.size_t, c *C.wk_completion_t) {
	s, k, uid := handleValue(h).(R2MultipartStore), gostr(key, keyLen), gostr(id, idLen)
	settle(c, func(comp completion) error {
		if err := s.AbortMultipartUpload(k, uid); err != nil {
			return err
		}
		return comp.resolve(nil)
	})
}
