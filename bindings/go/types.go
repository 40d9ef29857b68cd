package worker

import (
	"net/http"
	"time"
)

// EngineConfig holds the engine's settings. The zero value of every field means libworker's
// default; -1 means "no limit" for the limits.
type EngineConfig struct {
	PoolSize            int   // executor threads; 0 = one per CPU core
	MemoryLimitMB       int   // V8 heap per worker isolate (default 128)
	ExecutionTimeout    int   // wall-clock ms until a request must have its response (default 60000)
	CPUTimeLimit        int   // ms of CPU one request may spend in JavaScript (default 30000)
	MaxFetchRequests    int   // subrequests (fetch and binding calls) per request (default 1000)
	MaxResponseBytes    int64 // largest response body (default 100 MiB)
	MaxResidentWorkers  int   // worker isolates kept resident, least recently used evicted (default 1000)
	WarmIsolates        int   // blank isolates per executor thread for never-seen workers (default 2; -1 none)
	AllowCodeGeneration bool  // allow eval and new Function (refused by default, as on Cloudflare)
}

// WorkerRequest is an HTTP request for a worker. Method defaults to GET; URL is absolute.
// Headers keep every value of a repeated header.
type WorkerRequest struct {
	Method  string
	URL     string
	Headers http.Header
	Body    []byte
}

// WorkerResponse is a worker's HTTP response. Headers keep every value (Set-Cookie survives)
// under canonical names, so Headers.Get("content-type") works.
type WorkerResponse struct {
	StatusCode int
	StatusText string
	Headers    http.Header
	Body       []byte
	// PassThrough: the worker called ctx.passThroughOnException() before failing, so a host
	// with an origin should forward the request there instead of serving the error.
	PassThrough bool
}

// WorkerResult is the outcome of one invocation. When the worker failed, Error is a
// *WorkerError and Response (if any) is the 500 libworker serves for it; Logs are kept either way.
type WorkerResult struct {
	Response *WorkerResponse
	Logs     []LogEntry
	Error    error
	Duration time.Duration
	Data     string // ExecuteFunction: the JSON of the returned value
}

// LogEntry is one console call of the worker. Level is "debug", "log", "info", "warn" or
// "error".
type LogEntry struct {
	Level   string `json:"level"`
	Message string `json:"message"`
}

var logLevels = [...]string{"debug", "log", "info", "warn", "error"}

func logLevel(l int) string {
	if l >= 0 && l < len(logLevels) {
		return logLevels[l]
	}
	return "log"
}
