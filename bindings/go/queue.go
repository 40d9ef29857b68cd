package worker

/*
#include "glue.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
	"unsafe"
)

// QueueContentType says how a queue message body is encoded.
type QueueContentType int

// Content types, as the C ABI numbers them.
const (
	QueueJSON  QueueContentType = C.WK_QUEUE_CONTENT_JSON  // UTF-8 JSON text (the default)
	QueueText  QueueContentType = C.WK_QUEUE_CONTENT_TEXT  // a UTF-8 string
	QueueBytes QueueContentType = C.WK_QUEUE_CONTENT_BYTES // raw bytes (an ArrayBuffer)
	QueueV8    QueueContentType = C.WK_QUEUE_CONTENT_V8    // structured clone; keep the bytes as they are
)

func (t QueueContentType) String() string {
	switch t {
	case QueueJSON:
		return "json"
	case QueueText:
		return "text"
	case QueueBytes:
		return "bytes"
	case QueueV8:
		return "v8"
	}
	return "unknown"
}

// QueueSender is a queue producer (env.NAME.send and sendBatch). The runtime has already applied
// Cloudflare's limits. Send stores all the messages or none; its error rejects the worker's
// promise ("Queue send failed: <error>"). Methods may be called from many goroutines at once.
type QueueSender interface {
	Send(messages []QueueMessage) error
}

// QueueMetricsReporter is what a QueueSender may also implement to answer env.NAME.metrics().
type QueueMetricsReporter interface {
	Metrics() (QueueMetrics, error)
}

// QueueMessage is one message a worker sends.
type QueueMessage struct {
	Body        []byte
	ContentType QueueContentType
	// DelaySeconds before delivery (0..43200), or -1 when the worker gave none.
	DelaySeconds int
}

// QueueMetrics is a queue's backlog.
type QueueMetrics struct {
	BacklogCount           int64 `json:"backlogCount"`
	BacklogBytes           int64 `json:"backlogBytes"`
	OldestMessageTimestamp int64 `json:"oldestMessageTimestamp,omitempty"` // ms since the epoch
}

// QueueDefault is libworker's embedded queue: a SQLite file at path whose messages survive
// restarts, delivered by a QueueBroker consuming the same path. Its Go methods return an error.
func QueueDefault(path string) QueueSender { return embeddedQueue{path} }

type embeddedQueue struct{ path string }

func (embeddedQueue) Send([]QueueMessage) error { return errEmbedded }

func addQueue(env *C.wk_env_t, name string, q QueueSender, cerr **C.wk_error_t) C.wk_status_t {
	n, nLen := cstr(name)
	if d, ok := q.(embeddedQueue); ok {
		p, pLen := cstr(d.path)
		return C.wk_env_add_queue_default(env, n, nLen, p, pLen, cerr)
	}
	_, metrics := q.(QueueMetricsReporter)
	m := C.int(0)
	if metrics {
		m = 1
	}
	return C.wkgo_env_add_queue(env, n, nLen, newHandle(q), m, cerr)
}

//export wkgoQueueSend
func wkgoQueueSend(h C.uintptr_t, msgs *C.wk_queue_message_t, count C.size_t, c *C.wk_completion_t) {
	q := handleValue(h).(QueueSender)
	in := unsafe.Slice(msgs, int(count))
	out := make([]QueueMessage, len(in))
	for i, m := range in {
		out[i] = QueueMessage{
			Body:         gobytes(unsafe.Pointer(m.body), m.body_len),
			ContentType:  QueueContentType(m.content_type),
			DelaySeconds: int(m.delay_seconds),
		}
	}
	settle(c, func(comp completion) error {
		if err := q.Send(out); err != nil {
			return err
		}
		return comp.resolve(nil)
	})
}

//export wkgoQueueMetrics
func wkgoQueueMetrics(h C.uintptr_t, c *C.wk_completion_t) {
	q := handleValue(h).(QueueMetricsReporter)
	settle(c, func(comp completion) error {
		m, err := q.Metrics()
		if err != nil {
			return err
		}
		j, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return comp.resolve(j)
	})
}

// QueueDelivery is one message delivered to a worker's queue() handler.
type QueueDelivery struct {
	ID          string // stable across redeliveries
	Timestamp   time.Time
	Body        []byte
	ContentType QueueContentType
	Attempts    int // 1 on the first delivery
}

// QueueOutcome is what the handler decided for one message.
type QueueOutcome struct {
	Ack bool // delete it; otherwise deliver it again
	// RetryDelay is the delay in seconds the worker asked for with retry({delaySeconds}), or -1
	// when it gave none (use your own). 0 for an ack.
	RetryDelay int
}

// QueueResult is the outcome of ExecuteQueue: one decision per message, in order. When the
// handler failed, Error says why and the messages it did not ack are to be retried.
type QueueResult struct {
	Outcomes []QueueOutcome
	Logs     []LogEntry
	Error    error
}

// ExecuteQueue delivers messages as one batch of the queue named queue to worker (siteID,
// deployKey)'s queue() handler, in the same isolate as its fetch requests, and waits until the
// handler and its waitUntil work are done.
func (e *Engine) ExecuteQueue(siteID, deployKey string, env *Env, queue string, messages []QueueDelivery) *QueueResult {
	engine, err := e.acquire()
	if err != nil {
		return &QueueResult{Error: err}
	}
	defer e.mu.RUnlock()
	var batch *C.wk_queue_batch_t
	var cerr *C.wk_error_t
	qp, qLen := cstr(queue)
	if st := C.wk_queue_batch_new(qp, qLen, &batch, &cerr); st != C.WK_OK {
		return &QueueResult{Error: takeError(st, cerr)}
	}
	defer C.wk_queue_batch_free(batch)
	for _, m := range messages {
		id, idLen := cstr(m.ID)
		b, bLen := cbytes(m.Body)
		ms := m.Timestamp.UnixNano() / int64(time.Millisecond)
		if st := C.wk_queue_batch_add(batch, id, idLen, C.uint64_t(ms), b, bLen, C.wk_queue_content_type_t(m.ContentType), C.uint32_t(m.Attempts), &cerr); st != C.WK_OK {
			return &QueueResult{Error: takeError(st, cerr)}
		}
	}
	cenv, err := env.build()
	if err != nil {
		return &QueueResult{Error: err}
	}
	defer C.wk_env_free(cenv)
	site, siteLen := cstr(siteID)
	deploy, deployLen := cstr(deployKey)
	var result *C.wk_queue_result_t
	st := C.wk_execute_queue(engine, site, siteLen, deploy, deployLen, cenv, batch, &result, &cerr)
	res := &QueueResult{Error: e.wrapErr(takeError(st, cerr))}
	if result == nil {
		return res
	}
	defer C.wk_queue_result_free(result)
	n := int(C.wk_queue_result_count(result))
	res.Outcomes = make([]QueueOutcome, n)
	for i := 0; i < n; i++ {
		var delay C.int64_t
		outcome := C.wk_queue_result_outcome(result, C.size_t(i), &delay)
		res.Outcomes[i] = QueueOutcome{Ack: outcome == C.WK_QUEUE_ACK, RetryDelay: int(delay)}
	}
	res.Logs = readLogs(int(C.wk_queue_result_log_count(result)), func(i C.size_t, level *C.wk_log_level_t, msg **C.char, n *C.size_t) C.wk_status_t {
		return C.wk_queue_result_log_at(result, i, level, msg, n)
	})
	return res
}

// QueueConsumer is wrangler's [[queues.consumers]] entry for one embedded queue.
type QueueConsumer struct {
	Queue     string // the queue's name (the handler's batch.queue)
	Path      string // the embedded queue's file, as given to QueueDefault
	SiteID    string // the consuming worker
	DeployKey string
	Env       *Env

	MaxBatchSize    int           // 1..100; 0: 10
	MaxBatchTimeout time.Duration // how long a partial batch waits, up to 60 s; 0: 5 s
	MaxRetries      int           // retries before dead-lettering; 0: 3, -1: none
	RetryDelay      time.Duration // delay of retries the worker gave none for; 0: none

	// DeadLetterQueue and DeadLetterPath name the embedded queue that receives messages out of
	// retries; both empty: such messages are dropped.
	DeadLetterQueue string
	DeadLetterPath  string
}

// QueueBroker delivers embedded queues to workers' queue() handlers, batching, retrying and
// dead-lettering as Cloudflare does, on a thread of its own.
type QueueBroker struct {
	engine *Engine
	mu     sync.Mutex
	ptr    *C.wk_queue_broker_t
}

// NewQueueBroker starts a broker on this engine. Engine.Shutdown closes it.
func (e *Engine) NewQueueBroker() (*QueueBroker, error) {
	engine, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.mu.RUnlock()
	var ptr *C.wk_queue_broker_t
	var cerr *C.wk_error_t
	if st := C.wk_queue_broker_new(engine, &ptr, &cerr); st != C.WK_OK {
		return nil, takeError(st, cerr)
	}
	b := &QueueBroker{engine: e, ptr: ptr}
	e.brokersMu.Lock()
	defer e.brokersMu.Unlock()
	if e.projects == nil { // Shutdown began while this started
		C.wk_queue_broker_free(ptr)
		return nil, errShutdown()
	}
	e.brokers = append(e.brokers, b)
	return b, nil
}

// Consume starts delivering c.Path to its worker; consuming a queue name again replaces its
// consumer.
func (b *QueueBroker) Consume(c QueueConsumer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr == nil {
		return errShutdown()
	}
	var opts C.wk_queue_consumer_options_t
	C.wk_queue_consumer_options_init(&opts)
	if c.MaxBatchSize > 0 {
		opts.max_batch_size = C.uint32_t(c.MaxBatchSize)
	}
	if c.MaxBatchTimeout > 0 {
		opts.max_batch_timeout_seconds = C.double(c.MaxBatchTimeout.Seconds())
	}
	setLimit32(&opts.max_retries, c.MaxRetries)
	if c.RetryDelay > 0 {
		opts.retry_delay_seconds = C.uint32_t(c.RetryDelay / time.Second)
	}
	cenv, err := c.Env.build()
	if err != nil {
		return err
	}
	defer C.wk_env_free(cenv)
	qn, qnLen := cstr(c.Queue)
	qp, qpLen := cstr(c.Path)
	site, siteLen := cstr(c.SiteID)
	deploy, deployLen := cstr(c.DeployKey)
	var dn, dp *C.char
	var dnLen, dpLen C.size_t
	if c.DeadLetterQueue != "" || c.DeadLetterPath != "" {
		dn, dnLen = cstr(c.DeadLetterQueue)
		dp, dpLen = cstr(c.DeadLetterPath)
	}
	var cerr *C.wk_error_t
	if st := C.wk_queue_broker_consume(b.ptr, qn, qnLen, qp, qpLen, site, siteLen, deploy, deployLen, cenv, &opts, dn, dnLen, dp, dpLen, &cerr); st != C.WK_OK {
		return takeError(st, cerr)
	}
	return nil
}

// OnEvent sends every later event of this broker to f, on the broker's thread, one at a time
// (keep it short). Without an observer, dropped messages and storage errors are written to
// stderr. A panic in f is written to stderr and the broker carries on.
func (b *QueueBroker) OnEvent(f func(QueueEvent)) error {
	if f == nil {
		return &WorkerError{Kind: KindInvalidArgument, Code: CodeInvalidArgument, Message: "OnEvent needs a function"}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr == nil {
		return errShutdown()
	}
	var cerr *C.wk_error_t
	if st := C.wkgo_queue_broker_observe(b.ptr, newHandle(f), &cerr); st != C.WK_OK {
		return takeError(st, cerr)
	}
	return nil
}

// QueueEventKind says what a queue broker did.
type QueueEventKind string

const (
	// QueueDelivered: a batch went to the worker; IDs and Result say which and how it went.
	QueueDelivered QueueEventKind = "delivered"
	// QueueDeadLettered: message ID ran out of retries and moved to DeadLetterQueue.
	QueueDeadLettered QueueEventKind = "deadLettered"
	// QueueDropped: message ID ran out of retries after Attempts deliveries, with no
	// dead-letter queue, and was deleted.
	QueueDropped QueueEventKind = "dropped"
	// QueueStorageError: the queue's file failed (Message); the broker tries again later.
	QueueStorageError QueueEventKind = "storageError"
)

// QueueEvent is one thing a queue broker did (QueueBroker.OnEvent,
// ProjectOptions.OnQueueEvent).
type QueueEvent struct {
	Kind            QueueEventKind
	Queue           string
	IDs             []string     // QueueDelivered: the batch's message ids, in order
	Result          *QueueResult // QueueDelivered: one outcome per id, the logs, the error
	DeadLetterQueue string       // QueueDeadLettered
	ID              string       // QueueDeadLettered, QueueDropped
	Attempts        int          // QueueDropped
	Message         string       // QueueStorageError
}

// queueEventJSON is an event as libworker reports it (wk_queue_event_cb).
type queueEventJSON struct {
	Type     QueueEventKind `json:"type"`
	Queue    string         `json:"queue"`
	IDs      []string       `json:"ids"`
	Outcomes []struct {
		Ack        bool `json:"ack"`
		RetryDelay *int `json:"retryDelaySeconds"`
	} `json:"outcomes"`
	Logs  []LogEntry `json:"logs"`
	Error *struct {
		Code     int    `json:"code"`
		Kind     string `json:"kind"`
		Name     string `json:"name"`
		Message  string `json:"message"`
		Stack    string `json:"stack"`
		Location string `json:"location"`
	} `json:"error"`
	DeadLetterQueue string `json:"deadLetterQueue"`
	ID              string `json:"id"`
	Attempts        int    `json:"attempts"`
	Message         string `json:"message"`
}

func (j *queueEventJSON) event() QueueEvent {
	ev := QueueEvent{Kind: j.Type, Queue: j.Queue, IDs: j.IDs, DeadLetterQueue: j.DeadLetterQueue,
		ID: j.ID, Attempts: j.Attempts, Message: j.Message}
	if j.Type != QueueDelivered {
		return ev
	}
	res := &QueueResult{Outcomes: make([]QueueOutcome, len(j.Outcomes)), Logs: j.Logs}
	for i, o := range j.Outcomes {
		res.Outcomes[i] = QueueOutcome{Ack: o.Ack, RetryDelay: -1}
		if o.Ack {
			res.Outcomes[i].RetryDelay = 0
		} else if o.RetryDelay != nil {
			res.Outcomes[i].RetryDelay = *o.RetryDelay
		}
	}
	if e := j.Error; e != nil {
		res.Error = &WorkerError{Kind: ErrorKind(e.Kind), Code: e.Code, Name: e.Name,
			Message: e.Message, Stack: e.Stack, Location: e.Location}
	}
	ev.Result = res
	return ev
}

//export wkgoQueueEvent
func wkgoQueueEvent(h C.uintptr_t, data *C.char, n C.size_t) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "worker: a queue event observer panicked: %v\n", r)
		}
	}()
	var j queueEventJSON
	if err := json.Unmarshal([]byte(gostr(data, n)), &j); err != nil {
		fmt.Fprintf(os.Stderr, "worker: an unreadable queue event: %v\n", err)
		return
	}
	handleValue(h).(func(QueueEvent))(j.event())
}

// Close waits for the batches in flight and stops the broker. Undelivered messages stay in
// their queue files. Idempotent.
func (b *QueueBroker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	C.wk_queue_broker_free(b.ptr)
	b.ptr = nil
}
