package main

// The -raw client: one HTTP/2 connection driven frame by frame, the way Envoy's C++ client
// uses it. The request header block is HPACK-encoded once (no dynamic table), each call is
// one HEADERS and one DATA frame written by the pacing loop itself, and one reader decodes
// the answers. net/http's client allocates a request, a goroutine and a response per call;
// at 2k calls/s on two cores its own pauses reach the millisecond this benchmark measures.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawCall is one request in flight.
type rawCall struct {
	index  int
	due    time.Time
	sent   time.Time
	body   []byte
	status string
}

type rawConn struct {
	conn   net.Conn
	mu     sync.Mutex // guards writer, framer writes, window, cond
	writer *bufio.Writer
	framer *http2.Framer
	cond   *sync.Cond
	// Connection-level send window granted by the server.
	window int64
	// Bytes received since the last WINDOW_UPDATE we sent.
	unacked uint32
	// The server's SETTINGS_MAX_CONCURRENT_STREAMS (unlimited until it says), and how many
	// calls are open: like Envoy, a call waits for a free stream rather than being refused.
	maxStreams int
	open       int

	callsMu sync.Mutex
	calls   map[uint32]*rawCall
	nextID  uint32

	block []byte // encoded request headers
	done  func(c *rawCall, finished time.Time, err error)
	dead  error
}

const rawReceiveWindow = 1 << 30

func dialRaw(target, path string, done func(c *rawCall, finished time.Time, err error)) (*rawConn, error) {
	conn, err := net.Dial("tcp", target)
	if err != nil {
		return nil, err
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetNoDelay(true)
	}
	var headers bytes.Buffer
	enc := hpack.NewEncoder(&headers)
	enc.SetMaxDynamicTableSizeLimit(0)
	for _, f := range [][2]string{
		{":method", "POST"}, {":scheme", "http"}, {":path", path}, {":authority", target},
		{"content-type", "application/grpc"}, {"te", "trailers"},
	} {
		if err := enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]}); err != nil {
			return nil, err
		}
	}
	c := &rawConn{conn: conn, writer: bufio.NewWriterSize(conn, 64<<10), calls: map[uint32]*rawCall{}, nextID: 1, window: 65535, block: headers.Bytes(), done: done, maxStreams: 1 << 30}
	c.cond = sync.NewCond(&c.mu)
	c.framer = http2.NewFramer(c.writer, bufio.NewReaderSize(conn, 64<<10))
	c.framer.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if _, err := c.writer.WriteString(http2.ClientPreface); err != nil {
		return nil, err
	}
	if err := c.framer.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: rawReceiveWindow}, http2.Setting{ID: http2.SettingEnablePush, Val: 0}); err != nil {
		return nil, err
	}
	if err := c.framer.WriteWindowUpdate(0, rawReceiveWindow-65535); err != nil {
		return nil, err
	}
	if err := c.writer.Flush(); err != nil {
		return nil, err
	}
	go c.readLoop()
	return c, nil
}

// send writes one call's HEADERS and DATA frames, waiting only for connection window.
func (c *rawConn) send(call *rawCall, frame []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for (c.window < int64(len(frame)) || c.open >= c.maxStreams) && c.dead == nil {
		c.cond.Wait()
	}
	c.open++
	if c.dead != nil {
		return c.dead
	}
	id := c.nextID
	c.nextID += 2
	c.callsMu.Lock()
	c.calls[id] = call
	c.callsMu.Unlock()
	call.sent = time.Now()
	c.window -= int64(len(frame))
	err := c.framer.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block, EndHeaders: true})
	if err == nil {
		err = c.framer.WriteData(id, true, frame)
	}
	if err == nil {
		err = c.writer.Flush()
	}
	if err != nil {
		c.callsMu.Lock()
		delete(c.calls, id)
		c.callsMu.Unlock()
		c.open--
	}
	return err
}

func (c *rawConn) control(write func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if write() == nil {
		_ = c.writer.Flush()
	}
}

func (c *rawConn) finish(id uint32, err error) {
	c.callsMu.Lock()
	call := c.calls[id]
	delete(c.calls, id)
	c.callsMu.Unlock()
	if call != nil {
		c.mu.Lock()
		c.open--
		c.cond.Broadcast()
		c.mu.Unlock()
		c.done(call, time.Now(), err)
	}
}

func (c *rawConn) readLoop() {
	err := c.readFrames()
	c.mu.Lock()
	c.dead = err
	c.cond.Broadcast()
	c.mu.Unlock()
	c.callsMu.Lock()
	pending := c.calls
	c.calls = map[uint32]*rawCall{}
	c.callsMu.Unlock()
	for _, call := range pending {
		c.done(call, time.Now(), err)
	}
}

func (c *rawConn) readFrames() error {
	for {
		f, err := c.framer.ReadFrame()
		if err != nil {
			return err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if v, ok := f.Value(http2.SettingMaxConcurrentStreams); ok {
					c.mu.Lock()
					c.maxStreams = int(v)
					c.cond.Broadcast()
					c.mu.Unlock()
				}
				c.control(c.framer.WriteSettingsAck)
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				c.control(func() error { return c.framer.WritePing(true, f.Data) })
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				c.mu.Lock()
				c.window += int64(f.Increment)
				c.cond.Broadcast()
				c.mu.Unlock()
			}
		case *http2.MetaHeadersFrame:
			c.callsMu.Lock()
			call := c.calls[f.StreamID]
			c.callsMu.Unlock()
			if call != nil {
				if s := f.PseudoValue("status"); s != "" && s != "200" {
					call.status = "http " + s
				}
				for _, h := range f.RegularFields() {
					if h.Name == "grpc-status" {
						call.status = h.Value
					}
				}
			}
			if f.StreamEnded() {
				c.finish(f.StreamID, nil)
			}
		case *http2.DataFrame:
			c.callsMu.Lock()
			call := c.calls[f.StreamID]
			c.callsMu.Unlock()
			if call != nil {
				call.body = append(call.body, f.Data()...)
			}
			c.unacked += f.Length
			if c.unacked > 1<<20 {
				n := c.unacked
				c.unacked = 0
				c.control(func() error { return c.framer.WriteWindowUpdate(0, n) })
			}
			if f.StreamEnded() {
				c.finish(f.StreamID, nil)
			}
		case *http2.RSTStreamFrame:
			c.finish(f.StreamID, fmt.Errorf("stream reset: %v", f.ErrCode))
		case *http2.GoAwayFrame:
			return fmt.Errorf("goaway: %v", f.ErrCode)
		}
	}
}

// runRaw makes `total` calls at `rate` over `conns` raw connections, `record` seeing each.
func runRaw(target, path string, frames [][]byte, conns int, rate float64, total int, offset int,
	record func(i int, due, sent, finished time.Time, body []byte, status string, err error)) error {
	var wg sync.WaitGroup
	done := func(c *rawCall, finished time.Time, err error) {
		record(c.index, c.due, c.sent, finished, c.body, c.status, err)
		wg.Done()
	}
	clients := make([]*rawConn, conns)
	for i := range clients {
		c, err := dialRaw(target, path, done)
		if err != nil {
			return err
		}
		clients[i] = c
	}
	defer func() {
		for _, c := range clients {
			_ = c.conn.Close()
		}
	}()
	interval := time.Duration(float64(time.Second) / rate)
	defer lockPacer()()
	start := time.Now()
	for i := 0; i < total; i++ {
		due := start.Add(time.Duration(i) * interval)
		sleepUntil(due)
		n := offset + i
		call := &rawCall{index: i, due: due}
		wg.Add(1)
		if err := clients[n%conns].send(call, frames[n%len(frames)]); err != nil {
			wg.Done()
			return err
		}
	}
	wg.Wait()
	return nil
}

// rawOutcome turns a finished raw call into the result of net/http's path: an error, or the
// CheckResponse status code.
func rawOutcome(body []byte, status string, err error) (uint64, error) {
	if err != nil {
		return 0, err
	}
	if status == "" {
		return 0, errors.New("no grpc-status")
	}
	if status != "0" {
		return 0, fmt.Errorf("grpc-status %q", status)
	}
	return statusCode(body)
}
