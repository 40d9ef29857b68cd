package worker

/*
#cgo pkg-config: worker
#include "glue.h"
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

// emptyByte gives empty strings and slices a valid address: the C ABI refuses NULL pointers in
// places where an empty value is fine.
var emptyByte byte

// cstr returns a pointer to the bytes of s and their length for a borrowed (ptr, len) argument.
// The pointer is only valid during the C call it is passed to, which is all the ABI asks for;
// taking it avoids copying every string into C memory.
func cstr(s string) (*C.char, C.size_t) {
	if len(s) == 0 {
		return (*C.char)(unsafe.Pointer(&emptyByte)), 0
	}
	// The first word of a string header is its data pointer.
	return (*C.char)(*(*unsafe.Pointer)(unsafe.Pointer(&s))), C.size_t(len(s))
}

// cbytes is cstr for byte slices.
func cbytes(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return (*C.uint8_t)(unsafe.Pointer(&emptyByte)), 0
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0])), C.size_t(len(b))
}

// gostr copies a borrowed (ptr, len) string from C.
func gostr(p *C.char, n C.size_t) string {
	if p == nil || n == 0 {
		return ""
	}
	return C.GoStringN(p, C.int(n))
}

// gobytes copies borrowed bytes from C.
func gobytes(p unsafe.Pointer, n C.size_t) []byte {
	if p == nil || n == 0 {
		return []byte{}
	}
	return C.GoBytes(p, C.int(n))
}

// newHandle wraps a Go value for a vtable's user_data; libworker calls wkgoHandleFree once when
// it is done with it.
func newHandle(v interface{}) C.uintptr_t { return C.uintptr_t(cgo.NewHandle(v)) }

func handleValue(h C.uintptr_t) interface{} { return cgo.Handle(h).Value() }

//export wkgoHandleFree
func wkgoHandleFree(h C.uintptr_t) { cgo.Handle(h).Delete() }
