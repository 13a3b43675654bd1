package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// MaxLineLength is the longest message StdioTransport reads (the MCP SDK's own default): a longer
// line is answered with a parse error and skipped, never buffered whole.
const MaxLineLength = 16 << 20

// StdioTransport is MCP's stdio transport, one JSON-RPC message per line, for a client that may
// send anything: a line that is not JSON is answered with a JSON-RPC parse error (-32700, id
// null), one that is JSON but not a JSON-RPC message (or is a batch) with an invalid request
// error (-32600), and the server reads on. The SDK's own IOTransport ends the session at the
// first such line, dropping replies not yet written. Every message is written, and flushed when
// the writer has a Flush method, as soon as it is ready. Neither stream is closed.
//
// When the input ends (the client closed it), the transport reads no more but keeps the session
// open until every request it delivered has been answered, so a client that writes its
// requests, closes the server's standard input and reads standard output to its end gets every
// reply. Calls the server was making to the client (sampling, elicitation, roots) can no longer
// be answered: each is failed at once with an error response, so the tool call waiting on it
// finishes. A tool call is bounded by its plugin's timeout; DrainTimeout bounds the whole wait,
// so a handler that hangs cannot keep the process alive: once it passes, the session ends and
// the replies still missing are not sent.
type StdioTransport struct {
	Reader io.Reader
	Writer io.Writer
	// DrainTimeout bounds how long, after the input ended, the session waits for requests still
	// being handled; 0 means DefaultDrainTimeout.
	DrainTimeout time.Duration
}

// DefaultDrainTimeout is StdioTransport's DrainTimeout when none is set: longer than a plugin
// call's default timeout (30s), so a call that runs to its timeout still gets its reply.
const DefaultDrainTimeout = 2 * time.Minute

var _ mcp.Transport = (*StdioTransport)(nil)

// Connect implements mcp.Transport; a transport is connected once.
func (t *StdioTransport) Connect(context.Context) (mcp.Connection, error) {
	drain := t.DrainTimeout
	if drain <= 0 {
		drain = DefaultDrainTimeout
	}
	c := &stdioConn{w: t.Writer, incoming: make(chan jsonrpc.Message), closed: make(chan struct{}),
		drain: drain, kick: make(chan struct{}, 1),
		answering: map[jsonrpc.ID]bool{}, asking: map[jsonrpc.ID]bool{}}
	go c.readLoop(t.Reader)
	return c, nil
}

type stdioConn struct {
	writeMu  sync.Mutex
	w        io.Writer
	incoming chan jsonrpc.Message // what readLoop decoded; how the input ended is endErr
	once     sync.Once
	closed   chan struct{}

	drain time.Duration // the bound on the wait for replies once the input ended
	// kick is signalled (without blocking) whenever answering or asking shrinks or grows.
	kick chan struct{}

	mu        sync.Mutex
	answering map[jsonrpc.ID]bool // the client's calls delivered and not yet answered
	asking    map[jsonrpc.ID]bool // the server's calls written and not yet answered
	endErr    error               // how the input ended (io.EOF), once it did
	drainEnd  time.Time           // when the wait for replies gives up (set with endErr)
}

// readLoop reads lines until the stream ends, answering the ones that are not messages itself.
// (It stays blocked in a read of standard input after Close, as the SDK's does: there is no
// portable way to interrupt one.)
func (c *stdioConn) readLoop(r io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, tooLong, err := readLine(br, MaxLineLength)
		if tooLong {
			c.reply(jsonrpc.CodeParseError, fmt.Sprintf("parse error: a message longer than %d bytes was skipped", MaxLineLength), nil)
		} else if line = bytes.TrimSpace(line); len(line) > 0 {
			msg, code, why, id := decodeLine(line)
			if msg != nil {
				if !c.deliver(msg) {
					return
				}
			} else {
				c.reply(code, why, id)
			}
		}
		if err != nil {
			// io.EOF: the client closed the stream. Read ends the session once the requests
			// delivered are answered (see drainRead); the parse errors above are written.
			c.mu.Lock()
			c.endErr, c.drainEnd = err, time.Now().Add(c.drain)
			c.mu.Unlock()
			c.signal()
			return
		}
	}
}

func (c *stdioConn) deliver(msg jsonrpc.Message) bool {
	select {
	case c.incoming <- msg:
		return true
	case <-c.closed:
		return false
	}
}

// readLine reads up to the next newline. A line longer than limit is read to its end and
// dropped (tooLong), so memory stays bounded whatever the client sends.
func readLine(br *bufio.Reader, limit int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > limit {
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, tooLong, err
	}
}

// decodeLine is the message on a line, or the error code and text to answer it with and the
// request id to answer (nil when there is none to read).
func decodeLine(line []byte) (jsonrpc.Message, int64, string, *jsonrpc.ID) {
	if !json.Valid(line) {
		var v any
		err := json.Unmarshal(line, &v)
		return nil, jsonrpc.CodeParseError, "parse error: " + err.Error(), nil
	}
	if line[0] == '[' {
		return nil, jsonrpc.CodeInvalidRequest, "invalid request: batches are not supported; send one message per line", nil
	}
	msg, err := jsonrpc.DecodeMessage(line)
	if err != nil {
		var probe struct {
			ID any `json:"id"`
		}
		var id *jsonrpc.ID
		if json.Unmarshal(line, &probe) == nil {
			if v, err := jsonrpc.MakeID(probe.ID); err == nil && v.IsValid() {
				id = &v
			}
		}
		return nil, jsonrpc.CodeInvalidRequest, "invalid request: " + err.Error(), id
	}
	return msg, 0, "", nil
}

// reply answers a line that was not a message. A failed write ends the connection as a failed
// Write would.
func (c *stdioConn) reply(code int64, message string, id *jsonrpc.ID) {
	resp := struct {
		JSONRPC string         `json:"jsonrpc"`
		ID      any            `json:"id"`
		Error   *jsonrpc.Error `json:"error"`
	}{JSONRPC: "2.0", Error: &jsonrpc.Error{Code: code, Message: message}}
	if id != nil {
		resp.ID = id.Raw()
	}
	data, err := json.Marshal(resp)
	if err == nil {
		err = c.writeLine(data)
	}
	if err != nil {
		c.Close()
	}
}

func (c *stdioConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	for {
		c.mu.Lock()
		ended := c.endErr != nil
		c.mu.Unlock()
		if ended {
			return c.drainRead(ctx)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.closed:
			return nil, io.EOF
		case <-c.kick:
			// the input may have ended: look again (readLoop delivers every message before
			// it records the end, so none is left in incoming then)
		case msg := <-c.incoming:
			c.track(msg)
			return msg, nil
		}
	}
}

// track records a message read: a call from the client is to be answered, a response answers
// a call of the server's.
func (c *stdioConn) track(msg jsonrpc.Message) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch m := msg.(type) {
	case *jsonrpc.Request:
		if m.ID.IsValid() {
			c.answering[m.ID] = true
		}
	case *jsonrpc.Response:
		delete(c.asking, m.ID)
	}
}

// errInputClosed answers the server's calls to a client that closed its input.
var errInputClosed = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: "the MCP client closed its input: no answer will come"}

// drainRead is Read once the input ended: an error response to each call of the server's still
// waiting for the client, then, once every call of the client's has been answered (or the drain
// timeout passed, or the connection closed), how the input ended.
func (c *stdioConn) drainRead(ctx context.Context) (jsonrpc.Message, error) {
	c.mu.Lock()
	deadline := c.drainEnd
	c.mu.Unlock()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		c.mu.Lock()
		for id := range c.asking {
			delete(c.asking, id)
			c.mu.Unlock()
			return &jsonrpc.Response{ID: id, Error: errInputClosed}, nil
		}
		waiting, endErr := len(c.answering), c.endErr
		c.mu.Unlock()
		if waiting == 0 {
			return nil, endErr
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.closed:
			return nil, endErr
		case <-timer.C:
			return nil, endErr // the replies still missing are dropped
		case <-c.kick:
		}
	}
}

func (c *stdioConn) signal() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *stdioConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	data, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return fmt.Errorf("mcp serve: encode a message: %w", err)
	}
	if m, ok := msg.(*jsonrpc.Request); ok && m.ID.IsValid() {
		c.mu.Lock()
		c.asking[m.ID] = true // before it is written: the answer may come at once
		c.mu.Unlock()
		c.signal()
	}
	err = c.writeLine(data)
	if m, ok := msg.(*jsonrpc.Response); ok {
		// Answered once written and flushed (or failed to be: the SDK ends the session then).
		c.mu.Lock()
		delete(c.answering, m.ID)
		c.mu.Unlock()
		c.signal()
	}
	return err
}

func (c *stdioConn) writeLine(data []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if _, err := c.w.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("mcp serve: write a message: %w", err)
	}
	if f, ok := c.w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil {
			return fmt.Errorf("mcp serve: write a message: %w", err)
		}
	}
	return nil
}

func (c *stdioConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *stdioConn) SessionID() string { return "" }
