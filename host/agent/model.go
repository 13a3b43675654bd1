package agent

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"
)

// ModelError is a model request that failed for good.
type ModelError struct {
	Status  int    // the HTTP status, 0 when there was no response (network) or it was 200
	Message string // one line, redacted
	Retries int    // how many retries were made before giving up
	Err     error  // the underlying error, if any
}

func (e *ModelError) Error() string {
	s := "model: " + e.Message
	switch {
	case e.Retries == 1:
		s += " after 1 retry"
	case e.Retries > 1:
		s += fmt.Sprintf(" after %d retries", e.Retries)
	}
	return s
}

func (e *ModelError) Unwrap() error { return e.Err }

// requestedCall is a tool call as the model made it.
type requestedCall struct {
	id, name, args string
}

// reply is one assistant message as received (not redacted).
type reply struct {
	content string
	calls   []requestedCall
}

// Usage is the token counts a model server reported for its requests.
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
	TotalTokens      int64
}

// Add returns the sum of u and o.
func (u Usage) Add(o Usage) Usage {
	return Usage{u.PromptTokens + o.PromptTokens, u.CompletionTokens + o.CompletionTokens, u.TotalTokens + o.TotalTokens}
}

// failure is one failed attempt.
type failure struct {
	status     int
	msg        string
	err        error
	retryable  bool
	retryAfter time.Duration // from the response, 0 if none
}

// complete asks the model once, retrying what is worth retrying. On failure the returned reply
// holds the text received by the last attempt.
func (a *Agent) complete(ctx context.Context, model string, msgs []openai.ChatCompletionMessageParamUnion, ts *toolSet, emit func(Event)) (reply, error) {
	// Servers that count tokens send them in a last chunk when asked (OpenAI, vLLM, llama.cpp,
	// Ollama, OpenRouter); others ignore the option.
	params := openai.ChatCompletionNewParams{Model: model, Messages: msgs, Tools: ts.toolList,
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}}
	for attempt := 0; ; attempt++ {
		r, f := a.attempt(ctx, params, emit)
		if f == nil {
			return r, nil
		}
		if err := ctx.Err(); err != nil {
			return r, err
		}
		fail := &ModelError{Status: f.status, Message: a.redact(f.msg), Retries: attempt, Err: f.err}
		if !f.retryable || attempt >= a.cfg.MaxRetries {
			return r, fail
		}
		delay := a.backoff(attempt)
		if f.retryAfter > 0 {
			if f.retryAfter > MaxRetryAfter {
				fail.Message += fmt.Sprintf(" (the server asks to wait %s before retrying)", f.retryAfter.Round(time.Second))
				return r, fail
			}
			delay = f.retryAfter
		}
		emit(Event{
			Kind: EventRetry, Err: fail,
			Text: fmt.Sprintf("model: %s; retrying in %s (%d/%d)", fail.Message, delay.Round(time.Millisecond), attempt+1, a.cfg.MaxRetries),
		})
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return reply{}, ctx.Err()
		case <-t.C:
		}
	}
}

// backoff is the exponential delay before retry n (0-based), with jitter: between half and all
// of BaseBackoff·2ⁿ, capped.
func (a *Agent) backoff(n int) time.Duration {
	d := a.cfg.BaseBackoff
	for i := 0; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	half := d / 2
	return half + rand.N(half+1)
}

// attempt makes one streaming request.
func (a *Agent) attempt(ctx context.Context, params openai.ChatCompletionNewParams, emit func(Event)) (reply, *failure) {
	at := &attemptState{}
	s := a.svc.NewStreaming(ctx, params, option.WithMiddleware(at.middleware))
	defer s.Close()

	var (
		acc      openai.ChatCompletionAccumulator
		fix      callFixer
		finished bool
		choices  bool
		rejected bool
	)
	text := textStream{redact: a.cfg.Redact, emit: emit}
	for s.Next() {
		chunk := s.Current()
		// Some servers change the id between chunks; the accumulator would reject them.
		chunk.ID = ""
		kept := chunk.Choices[:0]
		for _, ch := range chunk.Choices {
			if ch.Index != 0 && len(chunk.Choices) > 1 {
				continue // only the first choice is used (n is never asked for)
			}
			ch.Index = 0
			fix.fix(ch.Delta.ToolCalls)
			if ch.Delta.Content != "" {
				text.add(ch.Delta.Content)
			}
			if ch.FinishReason != "" {
				finished = true
			}
			kept = append(kept, ch)
			choices = true
		}
		chunk.Choices = kept
		if !acc.AddChunk(chunk) {
			rejected = true
			break
		}
	}
	text.flush()
	partial := reply{content: text.raw.String()}
	if u := acc.Usage; u.PromptTokens != 0 || u.CompletionTokens != 0 || u.TotalTokens != 0 {
		// Tokens a server counted are reported even for an attempt that failed afterwards.
		emit(Event{Kind: EventUsage, Usage: Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}})
	}

	if ctx.Err() != nil {
		return partial, &failure{msg: "canceled", err: ctx.Err()}
	}
	if at.status >= 400 {
		return partial, at.httpFailure(s.Err())
	}
	if at.notStream != "" {
		return partial, &failure{status: at.status, msg: fmt.Sprintf("the server answered with %s, not an event stream (check model.base_url: it usually ends in /v1)", at.notStream)}
	}
	if err := s.Err(); err != nil && !(finished && at.readErr != nil) { // a cut after the end loses nothing
		var se *ssestream.StreamError
		switch {
		case errors.As(err, &se):
			// A provider failing mid-stream (OpenRouter sends its upstream's errors this way):
			// retried unless its code says the request itself is wrong.
			code := streamErrorCode(se.Event.Data)
			retry := code == 0 || code == http.StatusRequestTimeout || code == http.StatusConflict || code == http.StatusTooManyRequests || code >= 500
			return partial, &failure{status: code, msg: "the stream reported an error: " + errorText(se.Event.Data), err: err, retryable: retry}
		case at.readErr != nil:
			return partial, &failure{status: at.status, msg: "stream cut: " + oneLine(at.readErr.Error()), err: err, retryable: true}
		case at.status == 0:
			return partial, &failure{msg: "request failed: " + oneLine(err.Error()), err: err, retryable: true}
		default:
			return partial, &failure{status: at.status, msg: "malformed stream: " + oneLine(err.Error()), err: err, retryable: true}
		}
	}
	if rejected {
		return partial, &failure{status: at.status, msg: "malformed stream chunk (it does not continue the reply)", retryable: true}
	}
	if !finished && !at.done {
		return partial, &failure{status: at.status, msg: "the stream ended before the reply was complete", retryable: true}
	}
	if !choices || len(acc.Choices) == 0 {
		return partial, &failure{status: at.status, msg: "the reply had no choices", retryable: true}
	}

	msg := acc.Choices[0].Message
	r := reply{content: msg.Content}
	if r.content == "" && msg.Refusal != "" {
		r.content = msg.Refusal
	}
	seen := map[string]bool{}
	for _, tc := range msg.ToolCalls {
		id := tc.ID
		if id == "" || seen[id] {
			id = newCallID()
		}
		seen[id] = true
		r.calls = append(r.calls, requestedCall{id: id, name: tc.Function.Name, args: tc.Function.Arguments})
	}
	return r, nil
}

func newCallID() string {
	var b [12]byte
	_, _ = crand.Read(b[:])
	return "call_" + hex.EncodeToString(b[:])
}

// textStream forwards text deltas to the caller. With a redactor, text is held back to the last
// whitespace, so a secret split across deltas is still replaced whole before it is shown.
type textStream struct {
	raw    strings.Builder
	sent   int
	redact func(string) string
	emit   func(Event)
}

func (t *textStream) add(delta string) {
	t.raw.WriteString(delta)
	if t.redact == nil {
		t.emit(Event{Kind: EventText, Text: strings.ToValidUTF8(delta, "\uFFFD")})
		t.sent = t.raw.Len()
		return
	}
	s := t.raw.String()[t.sent:]
	i := strings.LastIndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return
	}
	_, size := utf8.DecodeRuneInString(s[i:])
	t.send(s[:i+size])
}

func (t *textStream) send(s string) {
	if s == "" {
		return
	}
	t.sent += len(s)
	s = strings.ToValidUTF8(s, "\uFFFD")
	if t.redact != nil {
		s = t.redact(s)
	}
	t.emit(Event{Kind: EventText, Text: s})
}

func (t *textStream) flush() { t.send(t.raw.String()[t.sent:]) }

// callFixer renumbers streamed tool-call deltas before they reach the accumulator, for servers
// that stream several calls under one index (each with its own id) or repeat a call's name in
// every delta: indices become dense, one per call id, and a repeated whole name is dropped.
type callFixer struct {
	cur   map[int64]int // index as sent → index used
	ids   []string
	names []string
}

func (f *callFixer) fix(tcs []openai.ChatCompletionChunkChoiceDeltaToolCall) {
	for i := range tcs {
		tc := &tcs[i]
		orig := max(tc.Index, 0) // -1 is used by some servers for a single call
		eff, ok := f.cur[orig]
		if !ok || (tc.ID != "" && f.ids[eff] != "" && tc.ID != f.ids[eff]) {
			if f.cur == nil {
				f.cur = map[int64]int{}
			}
			eff = len(f.ids)
			f.cur[orig] = eff
			f.ids = append(f.ids, "")
			f.names = append(f.names, "")
		}
		if tc.ID != "" && f.ids[eff] == "" {
			f.ids[eff] = tc.ID
		}
		if name := tc.Function.Name; name != "" {
			if f.names[eff] == name {
				tc.Function.Name = ""
			} else {
				f.names[eff] += name
			}
		}
		tc.Index = int64(eff)
	}
}

// attemptState is what the middleware saw of one HTTP exchange.
type attemptState struct {
	status    int
	header    http.Header
	body      []byte // of an error response
	done      bool   // "data: [DONE]" was read
	readErr   error  // reading the stream failed (other than at its end)
	notStream string // the content type, when it is neither an event stream nor JSON
}

const maxErrorBody = 64 << 10
const maxJSONBody = 64 << 20

func (at *attemptState) middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	res, err := next(req)
	if err != nil || res == nil {
		return res, err
	}
	at.status, at.header = res.StatusCode, res.Header
	if res.StatusCode >= 400 {
		data, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBody))
		res.Body.Close()
		at.body = data
		res.Body = io.NopCloser(bytes.NewReader(data))
		return res, nil
	}
	ct := res.Header.Get("Content-Type")
	mt, _, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		// A server that ignored "stream": one complete reply, turned into a one-chunk stream.
		data, rerr := io.ReadAll(io.LimitReader(res.Body, maxJSONBody))
		res.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		res.Body = io.NopCloser(bytes.NewReader(jsonToSSE(data)))
		res.Header = res.Header.Clone()
		res.Header.Set("Content-Type", "text/event-stream")
		res.ContentLength = -1
	case mt == "" || mt == "text/event-stream":
	default:
		at.notStream = mt
		res.Body.Close()
		res.Body = io.NopCloser(strings.NewReader(""))
		return res, nil
	}
	res.Body = &doneWatcher{rc: res.Body, at: at, tail: []byte{'\n'}}
	return res, nil
}

// httpFailure describes an error status.
func (at *attemptState) httpFailure(err error) *failure {
	f := &failure{status: at.status, err: err}
	f.msg = fmt.Sprintf("HTTP %d", at.status)
	if t := http.StatusText(at.status); t != "" {
		f.msg += " " + t
	}
	if detail := errorText(at.body); detail != "" {
		f.msg += ": " + detail
	}
	switch s := at.status; {
	case s == http.StatusRequestTimeout, s == http.StatusConflict, s == http.StatusTooManyRequests, s >= 500:
		f.retryable = true
	}
	f.retryAfter = retryAfter(at.header, time.Now())
	return f
}

// retryAfter reads retry-after-ms or Retry-After (seconds or an HTTP date).
func retryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e9 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 || s > 1e6 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// errorText extracts the message of an error body: {"error":{"message":…}}, {"error":"…"},
// {"message":…}, {"detail":…}, or the text itself; one line, at most 300 characters.
func errorText(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message any             `json:"message"`
		Detail  any             `json:"detail"`
	}
	text := string(body)
	if json.Unmarshal(body, &v) == nil {
		var inner struct {
			Message any `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			text = s
		case json.Unmarshal(v.Error, &inner) == nil && inner.Message != nil:
			text = fmt.Sprint(inner.Message)
		case v.Message != nil:
			text = fmt.Sprint(v.Message)
		case v.Detail != nil:
			text = fmt.Sprint(v.Detail)
		}
	}
	text = oneLine(strings.ToValidUTF8(text, "\uFFFD"))
	if r := []rune(text); len(r) > 300 {
		text = string(r[:300]) + "…"
	}
	return text
}

// streamErrorCode is the numeric code of an error event ({"error":{"code":429,…}}), or 0.
func streamErrorCode(data []byte) int {
	var v struct {
		Error struct {
			Code any `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &v) != nil {
		return 0
	}
	switch c := v.Error.Code.(type) {
	case float64:
		if c >= 100 && c < 600 {
			return int(c)
		}
	case string:
		if n, err := strconv.Atoi(c); err == nil && n >= 100 && n < 600 {
			return n
		}
	}
	return 0
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// doneWatcher notes when the stream's "data: [DONE]" line goes by.
type doneWatcher struct {
	rc   io.ReadCloser
	at   *attemptState
	tail []byte // the last bytes read, for a marker split across reads
	win  []byte
}

const doneTail = 16

var (
	doneMarker      = []byte("\ndata: [DONE]")
	doneMarkerShort = []byte("\ndata:[DONE]")
)

func hasDone(b []byte) bool {
	return bytes.Contains(b, doneMarker) || bytes.Contains(b, doneMarkerShort)
}

func (w *doneWatcher) Read(p []byte) (int, error) {
	n, err := w.rc.Read(p)
	if err != nil && err != io.EOF && w.at.readErr == nil {
		w.at.readErr = err
	}
	if n > 0 && !w.at.done {
		b := p[:n]
		head := b[:min(len(b), doneTail)]
		w.win = append(append(w.win[:0], w.tail...), head...)
		if hasDone(w.win) || hasDone(b) {
			w.at.done = true
		}
		if len(b) >= doneTail {
			w.tail = append(w.tail[:0], b[len(b)-doneTail:]...)
		} else {
			w.tail = append(w.tail, b...)
			if len(w.tail) > doneTail {
				w.tail = append(w.tail[:0], w.tail[len(w.tail)-doneTail:]...)
			}
		}
	}
	return n, err
}

func (w *doneWatcher) Close() error { return w.rc.Close() }

// jsonToSSE turns a non-streamed chat completion into the equivalent one-chunk event stream.
// Anything else (an error object) is passed on as one event, for the stream to report.
func jsonToSSE(data []byte) []byte {
	var cc struct {
		ID      string `json:"id"`
		Model   string `json:"model"`
		Choices []struct {
			Index   int64 `json:"index"`
			Message struct {
				Role      string `json:"role"`
				Content   string `json:"content"`
				Refusal   string `json:"refusal"`
				ToolCalls []struct {
					ID       string `json:"id"`
					Type     string `json:"type"`
					Function struct {
						Name      string          `json:"name"`
						Arguments json.RawMessage `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	event := func(b []byte) []byte {
		out := append([]byte("data: "), bytes.ReplaceAll(bytes.TrimSpace(b), []byte("\n"), nil)...)
		return append(out, "\n\n"...)
	}
	if err := json.Unmarshal(data, &cc); err != nil || cc.Choices == nil {
		return event(data)
	}
	type fn struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	}
	type tcall struct {
		Index    int    `json:"index"`
		ID       string `json:"id,omitempty"`
		Type     string `json:"type,omitempty"`
		Function fn     `json:"function"`
	}
	type delta struct {
		Role      string  `json:"role,omitempty"`
		Content   string  `json:"content,omitempty"`
		Refusal   string  `json:"refusal,omitempty"`
		ToolCalls []tcall `json:"tool_calls,omitempty"`
	}
	type choice struct {
		Index        int64   `json:"index"`
		Delta        delta   `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	}
	chunk := struct {
		ID      string   `json:"id"`
		Object  string   `json:"object"`
		Model   string   `json:"model"`
		Choices []choice `json:"choices"`
	}{ID: cc.ID, Object: "chat.completion.chunk", Model: cc.Model, Choices: []choice{}}
	for _, c := range cc.Choices {
		d := delta{Role: c.Message.Role, Content: c.Message.Content, Refusal: c.Message.Refusal}
		for i, tc := range c.Message.ToolCalls {
			args := string(tc.Function.Arguments)
			var s string
			if json.Unmarshal(tc.Function.Arguments, &s) == nil {
				args = s // the usual: arguments as a JSON string
			}
			d.ToolCalls = append(d.ToolCalls, tcall{Index: i, ID: tc.ID, Type: tc.Type, Function: fn{Name: tc.Function.Name, Arguments: args}})
		}
		finish := c.FinishReason
		if finish == "" {
			finish = "stop"
		}
		chunk.Choices = append(chunk.Choices, choice{Index: c.Index, Delta: d, FinishReason: &finish})
	}
	b, err := json.Marshal(chunk)
	if err != nil {
		return event(data)
	}
	return append(event(b), "data: [DONE]\n\n"...)
}

// defaultHTTPClient is used when Config.HTTPClient is nil: the default transport, with a bound
// on the wait for response headers (not on the stream) so a server that accepts the connection
// and never answers fails instead of hanging.
func defaultHTTPClient() *http.Client {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t = t.Clone()
		t.ResponseHeaderTimeout = 10 * time.Minute
		return &http.Client{Transport: t}
	}
	return &http.Client{}
}
