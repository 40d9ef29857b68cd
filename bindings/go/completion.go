package worker

/*
#include "glue.h"
*/
import "C"

import (
	"fmt"
)

// completion is the one-shot answer to a store callback. The C ABI lets it be settled from any
// thread, so every store method runs on a goroutine of its own: a slow store never holds up the
// executor thread that called it, which other workers share.
type completion struct{ c *C.wk_completion_t }

// settle runs fn on a new goroutine. fn returns how to settle the completion; an error rejects
// it with the error's text, and a panic rejects it with the panic's message.
func settle(c *C.wk_completion_t, fn func(completion) error) {
	go func() {
		comp := completion{c}
		defer func() {
			if r := recover(); r != nil {
				comp.reject(fmt.Sprintf("panic: %v", r))
			}
		}()
		if err := fn(comp); err != nil {
			comp.reject(err.Error())
		}
	}()
}

func (c completion) reject(msg string) {
	p, n := cstr(msg)
	C.wk_completion_reject(c.c, p, n)
}

func (c completion) resolveNull() error {
	C.wk_completion_resolve_null(c.c)
	return nil
}

func (c completion) resolve(data []byte) error {
	if len(data) == 0 {
		C.wk_completion_resolve(c.c, nil, 0)
		return nil
	}
	p, n := cbytes(data)
	if st := C.wk_completion_resolve(c.c, p, n); st != C.WK_OK {
		return fmt.Errorf("cannot resolve: %s", C.GoString(C.wk_status_name(st)))
	}
	return nil
}
