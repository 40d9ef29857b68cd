package worker

import (
	"io"
	"net/http"
)

// Handler serves HTTP requests with worker (siteID, deployKey) and env, so a worker can sit in
// a net/http server or mux.
func (e *Engine) Handler(siteID, deployKey string, env *Env) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := FromHTTPRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeResult(w, e.Execute(siteID, deployKey, env, req))
	})
}

// ServeHTTP makes a Project an http.Handler, as `wk serve` is for its config.
func (p *Project) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := FromHTTPRequest(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeResult(w, p.Fetch(req))
}

// FromHTTPRequest converts an incoming net/http request (reading its body) into a
// WorkerRequest with an absolute URL and its Host header.
func FromHTTPRequest(r *http.Request) (*WorkerRequest, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	headers := r.Header.Clone()
	if headers == nil {
		headers = http.Header{}
	}
	headers.Set("Host", r.Host)
	return &WorkerRequest{Method: r.Method, URL: scheme + "://" + r.Host + r.URL.RequestURI(), Headers: headers, Body: body}, nil
}

func writeResult(w http.ResponseWriter, res *WorkerResult) {
	if res.Response == nil {
		msg := "worker failed"
		if res.Error != nil {
			msg = res.Error.Error()
		}
		http.Error(w, msg, http.StatusInternalServerError)
		return
	}
	for name, values := range res.Response.Headers {
		for _, v := range values {
			w.Header().Add(name, v)
		}
	}
	w.WriteHeader(res.Response.StatusCode)
	_, _ = w.Write(res.Response.Body)
}
