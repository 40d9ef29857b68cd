package worker

/*
#include "glue.h"
*/
import "C"

import (
	"errors"
	"strings"
)

// ErrorKind says what failed, as libworker's stable camelCase word.
type ErrorKind string

// The kinds of WorkerError. Each has a sentinel error below for errors.Is.
const (
	KindException            ErrorKind = "exception"
	KindScript               ErrorKind = "script"
	KindScriptNotFound       ErrorKind = "scriptNotFound"
	KindBadHandler           ErrorKind = "badHandler"
	KindExceededCPU          ErrorKind = "exceededCpu"
	KindExceededMemory       ErrorKind = "exceededMemory"
	KindExceededWallTime     ErrorKind = "exceededWallTime"
	KindExceededResponseSize ErrorKind = "exceededResponseSize"
	KindInternal             ErrorKind = "internalError"
	KindInvalidArgument      ErrorKind = "invalidArgument"
	KindPanic                ErrorKind = "panic"
	KindRejected             ErrorKind = "rejected"
	// KindShutdown is the Go package's own: the engine was shut down (libworker reports it as
	// an internal error).
	KindShutdown ErrorKind = "shutdown"
)

// Status codes of the C ABI (WK_E_*), kept on WorkerError.Code.
const (
	CodeInvalidArgument = int(C.WK_E_INVALID_ARGUMENT)
	CodePanic           = int(C.WK_E_PANIC)
	CodeException       = int(C.WK_E_EXCEPTION)
	CodeScript          = int(C.WK_E_SCRIPT)
	CodeNotFound        = int(C.WK_E_NOT_FOUND)
	CodeLimit           = int(C.WK_E_LIMIT)
	CodeInternal        = int(C.WK_E_INTERNAL)
	CodeBadHandler      = int(C.WK_E_BAD_HANDLER)
	CodeRejected        = int(C.WK_E_REJECTED)
)

// WorkerError is every error the runtime reports: a JavaScript exception with its stack, a
// syntax error with its file:line:col, a limit with its name and value, a missing worker.
// Match it with errors.Is against the Err* sentinels, or errors.As to read the details.
type WorkerError struct {
	Kind     ErrorKind
	Code     int    // the C ABI status (Code* constants)
	Name     string // the JavaScript error's name ("TypeError"), or ""
	Message  string
	Stack    string // the JavaScript stack, or ""
	Location string // file:line:col when known, or ""
}

func (e *WorkerError) Error() string {
	var b strings.Builder
	b.WriteString("worker: ")
	if e.Name != "" && !strings.HasPrefix(e.Message, e.Name) {
		b.WriteString(e.Name)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Location != "" && !strings.Contains(e.Message, e.Location) {
		b.WriteString(" (at ")
		b.WriteString(e.Location)
		b.WriteString(")")
	}
	return b.String()
}

// Is reports whether target is a sentinel of this error's kind (or, for ErrLimit, of its code).
func (e *WorkerError) Is(target error) bool {
	t, ok := target.(*WorkerError)
	if !ok || t.Message != "" {
		return false
	}
	return (t.Kind == "" || t.Kind == e.Kind) && (t.Code == 0 || t.Code == e.Code)
}

// Sentinels for errors.Is(err, worker.ErrExceededCPU) and the like. They carry no message and
// match any WorkerError of their kind.
var (
	ErrException            error = &WorkerError{Kind: KindException}
	ErrScript               error = &WorkerError{Kind: KindScript}
	ErrScriptNotFound       error = &WorkerError{Kind: KindScriptNotFound}
	ErrBadHandler           error = &WorkerError{Kind: KindBadHandler}
	ErrExceededCPU          error = &WorkerError{Kind: KindExceededCPU}
	ErrExceededMemory       error = &WorkerError{Kind: KindExceededMemory}
	ErrExceededWallTime     error = &WorkerError{Kind: KindExceededWallTime}
	ErrExceededResponseSize error = &WorkerError{Kind: KindExceededResponseSize}
	ErrInternal             error = &WorkerError{Kind: KindInternal}
	ErrInvalidArgument      error = &WorkerError{Kind: KindInvalidArgument}
	ErrPanic                error = &WorkerError{Kind: KindPanic}
	ErrRejected             error = &WorkerError{Kind: KindRejected}
	ErrShutdown             error = &WorkerError{Kind: KindShutdown}
	// ErrLimit matches every exceeded-limit error (CPU, memory, wall time, response size).
	ErrLimit error = &WorkerError{Code: CodeLimit}
)

// errEmbedded is what the Go methods of embedded-store markers return: those stores live inside
// libworker and are reached through a worker's env.
var errEmbedded = errors.New("worker: an embedded store is reached through a worker's env, not from Go")

// takeError converts and frees an owned wk_error_t; nil for nil.
func takeError(status C.wk_status_t, err *C.wk_error_t) error {
	if status == C.WK_OK && err == nil {
		return nil
	}
	defer C.wk_error_free(err)
	if err == nil {
		return &WorkerError{Kind: kindOfCode(int(status)), Code: int(status),
			Message: C.GoString(C.wk_status_name(status))}
	}
	return &WorkerError{
		Kind:     ErrorKind(C.GoString(C.wk_error_kind(err))),
		Code:     int(C.wk_error_code(err)),
		Name:     C.GoString(C.wk_error_name(err)),
		Message:  C.GoString(C.wk_error_message(err)),
		Stack:    C.GoString(C.wk_error_stack(err)),
		Location: C.GoString(C.wk_error_location(err)),
	}
}

func kindOfCode(code int) ErrorKind {
	switch code {
	case CodeInvalidArgument:
		return KindInvalidArgument
	case CodePanic:
		return KindPanic
	case CodeException:
		return KindException
	case CodeScript:
		return KindScript
	case CodeNotFound:
		return KindScriptNotFound
	case CodeBadHandler:
		return KindBadHandler
	case CodeRejected:
		return KindRejected
	}
	return KindInternal
}
