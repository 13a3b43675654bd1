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
type StdioTransport struct {
	Reader io.Reader
	Writer io.Writer
}

var _ mcp.Transport = (*StdioTransport)(nil)

// Connect implements mcp.Transport; a transport is connected once.
func (t *StdioTransport) Connect(context.Context) (mcp.Connection, error) {
	c := &stdioConn{w: t.Writer, incoming: make(chan readResult), closed: make(chan struct{})}
	go c.readLoop(t.Reader)
	return c, nil
}

type readResult struct {
	msg jsonrpc.Message
	err error
}

type stdioConn struct {
	writeMu  sync.Mutex
	w        io.Writer
	incoming chan readResult
	once     sync.Once
	closed   chan struct{}
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
				if !c.deliver(readResult{msg: msg}) {
					return
				}
			} else {
				c.reply(code, why, id)
			}
		}
		if err != nil {
			c.deliver(readResult{err: err}) // io.EOF: the client closed the stream
			return
		}
	}
}

func (c *stdioConn) deliver(r readResult) bool {
	select {
	case c.incoming <- r:
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
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closed:
		return nil, io.EOF
	case r := <-c.incoming:
		return r.msg, r.err
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
	return c.writeLine(data)
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
