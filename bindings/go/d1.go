package worker

/*
#include "glue.h"
*/
import "C"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// D1Database runs the SQL of a D1 binding. The runtime does the client half of Cloudflare's
// binding (bind() type checks, result shapes, sessions, D1_* error prefixes); the database
// runs statements. Query may be called from many goroutines at once.
type D1Database interface {
	// Query runs q.Statements: in mode "query" all in one transaction (if one fails, roll all
	// back); in mode "exec" one by one, each committed, stopping at the first failure. Return
	// a *D1StatementError for a failing statement; any other error fails the call as a whole
	// (the worker sees "D1_ERROR: <error>").
	Query(q *D1Query) (*D1Response, error)
}

// D1Dumper is what a D1Database may also implement for the deprecated dump(): the database
// file's bytes (SQLite format), or nil when it offers no dumps.
type D1Dumper interface {
	Dump() ([]byte, error)
}

// D1Query is one call of the worker.
type D1Query struct {
	Mode       string // "query" or "exec"
	Session    string // "first-primary", "first-unconstrained" or a bookmark
	Statements []D1Statement
}

// D1Statement is SQL with positional parameters (? and ?NNN, which means Params[NNN-1]). A
// parameter is nil (NULL), int64 (INTEGER), float64 (REAL), string (TEXT) or []byte (BLOB).
type D1Statement struct {
	SQL    string
	Params []interface{}
}

// D1Response has one result per statement, in order. Bookmark (optional) names the state of
// the database after the call and must compare greater for newer states.
type D1Response struct {
	Results  []D1Result
	Bookmark string
}

// D1Result is a statement's rows. Cells are nil, integers (int, int64, ...), floats, strings,
// []byte or bools (stored as 1 and 0, as SQLite does).
type D1Result struct {
	Columns []string
	Rows    [][]interface{}
	Meta    D1Meta
}

// D1Meta is a statement's meta; every field may be left zero.
type D1Meta struct {
	Duration        float64 `json:"duration"` // ms
	Changes         int64   `json:"changes"`
	LastRowID       int64   `json:"last_row_id"`
	RowsRead        int64   `json:"rows_read"`
	RowsWritten     int64   `json:"rows_written"`
	ChangedDB       bool    `json:"changed_db"`
	SizeAfter       int64   `json:"size_after"`
	ServedBy        string  `json:"served_by,omitempty"`
	ServedByRegion  string  `json:"served_by_region,omitempty"`
	ServedByPrimary bool    `json:"served_by_primary,omitempty"`
}

// D1StatementError is a failing statement: the worker's promise rejects with
// "D1_ERROR: <Message>" (for exec, "D1_EXEC_ERROR: Error in line <Statement+1>: ...").
type D1StatementError struct {
	Statement int // index in D1Query.Statements
	Message   string
}

func (e *D1StatementError) Error() string {
	return fmt.Sprintf("statement %d: %s", e.Statement, e.Message)
}

// D1Default is libworker's embedded database: a SQLite file at path (created if missing) with
// D1's limits and error texts. Its Go methods return an error.
func D1Default(path string) D1Database { return embeddedD1{path} }

type embeddedD1 struct{ path string }

func (embeddedD1) Query(*D1Query) (*D1Response, error) { return nil, errEmbedded }

func addD1(env *C.wk_env_t, name string, db D1Database, cerr **C.wk_error_t) C.wk_status_t {
	n, nLen := cstr(name)
	if d, ok := db.(embeddedD1); ok {
		p, pLen := cstr(d.path)
		return C.wk_env_add_d1_default(env, n, nLen, p, pLen, cerr)
	}
	return C.wkgo_env_add_d1(env, n, nLen, newHandle(db), cerr)
}

//export wkgoD1Query
func wkgoD1Query(h C.uintptr_t, query *C.char, queryLen C.size_t, c *C.wk_completion_t) {
	db, text := handleValue(h).(D1Database), gostr(query, queryLen)
	settle(c, func(comp completion) error {
		q, err := decodeD1Query(text)
		if err != nil {
			return err
		}
		res, err := db.Query(q)
		var stmtErr *D1StatementError
		if errors.As(err, &stmtErr) {
			j, err := json.Marshal(map[string]interface{}{"error": stmtErr.Message, "statement": stmtErr.Statement})
			if err != nil {
				return err
			}
			return comp.resolve(j)
		}
		if err != nil {
			return err
		}
		if res == nil {
			res = &D1Response{}
		}
		j, err := encodeD1Response(res)
		if err != nil {
			return err
		}
		return comp.resolve(j)
	})
}

//export wkgoD1Dump
func wkgoD1Dump(h C.uintptr_t, c *C.wk_completion_t) {
	d, ok := handleValue(h).(D1Dumper)
	settle(c, func(comp completion) error {
		if !ok {
			return comp.resolveNull()
		}
		b, err := d.Dump()
		if err != nil {
			return err
		}
		if b == nil {
			return comp.resolveNull()
		}
		return comp.resolve(b)
	})
}

func decodeD1Query(text string) (*D1Query, error) {
	var raw struct {
		Mode       string `json:"mode"`
		Session    string `json:"session"`
		Statements []struct {
			SQL    string            `json:"sql"`
			Params []json.RawMessage `json:"params"`
		} `json:"statements"`
	}
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf("bad D1 query: %v", err)
	}
	q := &D1Query{Mode: raw.Mode, Session: raw.Session, Statements: make([]D1Statement, len(raw.Statements))}
	for i, s := range raw.Statements {
		q.Statements[i] = D1Statement{SQL: s.SQL, Params: make([]interface{}, len(s.Params))}
		for j, p := range s.Params {
			v, err := decodeD1Value(p)
			if err != nil {
				return nil, fmt.Errorf("bad D1 parameter %d: %v", j+1, err)
			}
			q.Statements[i].Params[j] = v
		}
	}
	return q, nil
}

// decodeD1Value types a parameter by its JSON form: an integer literal is INTEGER, a number with
// a fraction or exponent REAL, an array of byte values a BLOB.
func decodeD1Value(p json.RawMessage) (interface{}, error) {
	t := bytes.TrimSpace(p)
	if len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	switch t[0] {
	case '"':
		var s string
		err := json.Unmarshal(t, &s)
		return s, err
	case '[':
		var b []byte
		var nums []int
		if err := json.Unmarshal(t, &nums); err != nil {
			return nil, err
		}
		b = make([]byte, len(nums))
		for i, n := range nums {
			if n < 0 || n > 255 {
				return nil, fmt.Errorf("blob byte %d out of range", n)
			}
			b[i] = byte(n)
		}
		return b, nil
	}
	s := string(t)
	if strings.ContainsAny(s, ".eE") {
		return strconv.ParseFloat(s, 64)
	}
	return strconv.ParseInt(s, 10, 64)
}

func encodeD1Response(r *D1Response) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"results":[`)
	for i, res := range r.Results {
		if i > 0 {
			b.WriteByte(',')
		}
		cols := res.Columns
		if cols == nil {
			cols = []string{}
		}
		j, err := json.Marshal(cols)
		if err != nil {
			return nil, err
		}
		b.WriteString(`{"columns":`)
		b.Write(j)
		b.WriteString(`,"rows":[`)
		for ri, row := range res.Rows {
			if ri > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('[')
			for ci, cell := range row {
				if ci > 0 {
					b.WriteByte(',')
				}
				if err := writeD1Cell(&b, cell); err != nil {
					return nil, err
				}
			}
			b.WriteByte(']')
		}
		meta, err := json.Marshal(res.Meta)
		if err != nil {
			return nil, err
		}
		b.WriteString(`],"meta":`)
		b.Write(meta)
		b.WriteByte('}')
	}
	b.WriteString(`]`)
	if r.Bookmark != "" {
		j, _ := json.Marshal(r.Bookmark)
		b.WriteString(`,"bookmark":`)
		b.Write(j)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeD1Cell writes a cell in the parameters' encoding: REALs always with a fraction or
// exponent, so 2.0 stays a REAL; BLOBs as arrays of byte values.
func writeD1Cell(b *bytes.Buffer, v interface{}) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	case int:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int32:
		b.WriteString(strconv.FormatInt(int64(x), 10))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint32:
		b.WriteString(strconv.FormatUint(uint64(x), 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float32:
		writeReal(b, float64(x))
	case float64:
		writeReal(b, x)
	case string:
		j, err := json.Marshal(x)
		if err != nil {
			return err
		}
		b.Write(j)
	case []byte:
		b.WriteByte('[')
		for i, c := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(int(c)))
		}
		b.WriteByte(']')
	default:
		return fmt.Errorf("D1 cell of type %T is not a SQLite value", v)
	}
	return nil
}

func writeReal(b *bytes.Buffer, f float64) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		b.WriteString("null")
		return
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	b.WriteString(s)
}
