// Command loadgen is the benchmark's join/leave churn generator: compiled, so that the server
// under test, not the generator, runs out of CPU first.
//
// One process (the bench runs two, each with its own open-file limit and source addresses):
//
//  1. opens -observers viewers on every auction of its shard (index % shards == shard) of the
//     -auctions file: the "others" who hear each join and leave, as in the Node generator;
//  2. prints {"event":"ready",...} on stdout and waits for a line on stdin;
//  3. runs -concurrency closed loops for -duration, each: connect from the next -sources
//     address, upgrade, wait for the viewer's own first count, leave with a close frame, read
//     until the server ends the TCP connection (so TIME_WAIT stays on the server's side), again;
//  4. prints {"event":"result",...} (joins, failures, connect → first count samples, count
//     frames the observers received meanwhile), closes its observers the same way and exits.
//
// It speaks the live feed of docs/websocket-protocol.md (-target plain: our server and the ws
// peer) or Engine.IO v4 / Socket.IO v5 over a WebSocket (-target socketio: open packet "0{…}",
// CONNECT "40{auth}", events "42[…]", CONNECT_ERROR "44{…}", ping "2" → pong "3"). Like
// bench/src/load/raw-viewer.ts, it counts frames rather than decoding JSON, and sends the fixed
// RFC 6455 sample key and masked frames with a zero mask.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// A viewer that has not joined within this time is dropped and counted as failed.
	joinTimeout = 15 * time.Second
	// A close handshake that has not ended the connection within this time is dropped.
	closeTimeout = 3 * time.Second
	wsKey        = "dGhlIHNhbXBsZSBub25jZQ=="
	wsAccept     = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
)

var (
	closeNormal  = []byte{0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8}
	engineIOPong = []byte{0x81, 0x81, 0, 0, 0, 0, '3'}
	codeKey      = []byte(`"code":`)
)

type config struct {
	socketIO    bool
	address     string
	auctions    []string
	sources     []*net.Dialer
	shard       int
	shards      int
	observers   int
	concurrency int
	duration    time.Duration
}

// result is what the runner reads back (bench/src/load/go-loadgen.ts).
type result struct {
	Event          string         `json:"event"`
	Joins          int            `json:"joins"`
	Failed         int            `json:"failed"`
	Failures       map[string]int `json:"failures"`
	Ms             float64        `json:"ms"`
	JoinMs         []float64      `json:"joinMs"`
	ObserverFrames int64          `json:"observerFrames"`
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	var frames atomic.Int64
	observers, failures := openObservers(cfg, &frames)
	emit(map[string]any{"event": "ready", "observers": len(observers), "failed": failures})

	// The runner starts its CPU meters, then says go.
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		os.Exit(1)
	}
	before := frames.Load()
	res := churn(cfg)
	res.ObserverFrames = frames.Load() - before
	emit(res)

	var wg sync.WaitGroup
	for _, o := range observers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o.leave()
		}()
	}
	wg.Wait()
}

func parseFlags() (*config, error) {
	target := flag.String("target", "plain", "plain (live-feed protocol) or socketio")
	host := flag.String("host", "127.0.0.1", "server address")
	port := flag.Int("port", 0, "server port")
	auctionsFile := flag.String("auctions", "", "file with one auction id per line")
	sources := flag.String("sources", "127.0.0.2", "comma-separated source addresses, used in turn")
	shard := flag.String("shard", "0/1", "i/n: observe the auctions whose index % n == i")
	observers := flag.Int("observers", 0, "viewers held on every auction of the shard")
	concurrency := flag.Int("concurrency", 24, "join/leave loops")
	duration := flag.Duration("duration", 8*time.Second, "how long the loops run")
	flag.Parse()

	if *target != "plain" && *target != "socketio" {
		return nil, fmt.Errorf("-target %q: plain or socketio", *target)
	}
	raw, err := os.ReadFile(*auctionsFile)
	if err != nil {
		return nil, err
	}
	cfg := &config{
		socketIO:    *target == "socketio",
		address:     net.JoinHostPort(*host, strconv.Itoa(*port)),
		auctions:    strings.Fields(string(raw)),
		observers:   *observers,
		concurrency: *concurrency,
		duration:    *duration,
	}
	if len(cfg.auctions) == 0 {
		return nil, errors.New("no auctions")
	}
	if _, err := fmt.Sscanf(*shard, "%d/%d", &cfg.shard, &cfg.shards); err != nil || cfg.shards < 1 {
		return nil, fmt.Errorf("-shard %q: i/n", *shard)
	}
	for _, source := range strings.Split(*sources, ",") {
		ip := net.ParseIP(source)
		if ip == nil {
			return nil, fmt.Errorf("-sources: %q is not an address", source)
		}
		// No TCP keep-alive: four setsockopt calls per connection for nothing on loopback.
		cfg.sources = append(cfg.sources, &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, KeepAlive: -1})
	}
	return cfg, nil
}

func emit(v any) {
	line, err := json.Marshal(v)
	if err != nil {
		panic(err) // only our own plain structs are marshalled
	}
	os.Stdout.Write(append(line, '\n'))
}

// openObservers joins the shard's observers, 64 handshakes at a time; they then count frames.
func openObservers(cfg *config, frames *atomic.Int64) ([]*viewer, int) {
	var (
		mu     sync.Mutex
		opened []*viewer
		failed int
		wg     sync.WaitGroup
	)
	slots := make(chan struct{}, 64)
	n := 0
	for i := cfg.shard; i < len(cfg.auctions); i += cfg.shards {
		for range cfg.observers {
			source := cfg.sources[n%len(cfg.sources)]
			n++
			slots <- struct{}{}
			wg.Add(1)
			go func(auction string) {
				defer wg.Done()
				v, err := join(cfg, source, auction, make([]byte, 0, 1024))
				<-slots
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed++
					return
				}
				opened = append(opened, v)
				go v.watch(frames)
			}(cfg.auctions[i])
		}
	}
	wg.Wait()
	return opened, failed
}

// churn runs the join/leave loops until the duration is up.
func churn(cfg *config) result {
	started := time.Now()
	deadline := started.Add(cfg.duration)
	res := result{Event: "result", Failures: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for loop := range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 1024)
			var joinMs []float64
			failures := map[string]int{}
			for n := loop; time.Now().Before(deadline); n += cfg.concurrency {
				auction := cfg.auctions[rand.IntN(len(cfg.auctions))]
				t0 := time.Now()
				v, err := join(cfg, cfg.sources[n%len(cfg.sources)], auction, buf)
				if err != nil {
					failures[err.Error()]++
					continue
				}
				joinMs = append(joinMs, float64(v.joinedAt.Sub(t0).Microseconds())/1000)
				if err := v.leave(); err != nil {
					failures["close handshake: "+err.Error()]++
				}
				buf = v.buf[:0]
			}
			mu.Lock()
			defer mu.Unlock()
			res.Joins += len(joinMs)
			res.JoinMs = append(res.JoinMs, joinMs...)
			for reason, count := range failures {
				res.Failures[reason] += count
				if !strings.HasPrefix(reason, "close handshake") {
					res.Failed += count
				}
			}
		}()
	}
	wg.Wait()
	res.Ms = float64(time.Since(started).Microseconds()) / 1000
	return res
}

// viewer is one WebSocket connection; buf[off:] holds what was read and not yet consumed.
type viewer struct {
	cfg      *config
	conn     net.Conn
	auction  string
	buf      []byte
	off      int
	joinedAt time.Time
}

// join connects, upgrades and reads until the viewer's own first count.
func join(cfg *config, dialer *net.Dialer, auction string, buf []byte) (*viewer, error) {
	conn, err := dialer.Dial("tcp", cfg.address)
	if err != nil {
		return nil, cause(err) // without the addresses: failures are counted by reason
	}
	v := &viewer{cfg: cfg, conn: conn, auction: auction, buf: buf[:0]}
	if err := v.handshake(); err != nil {
		conn.Close()
		return nil, err
	}
	return v, nil
}

func (v *viewer) handshake() error {
	if err := v.conn.SetDeadline(time.Now().Add(joinTimeout)); err != nil {
		return err
	}
	path := "/auctions/" + v.auction + "/live"
	if v.cfg.socketIO {
		path = "/socket.io/?EIO=4&transport=websocket"
	}
	request := "GET " + path + " HTTP/1.1\r\nHost: " + v.cfg.address + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + wsKey + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(v.conn, request); err != nil {
		return err
	}
	if err := v.readUpgrade(); err != nil {
		return err
	}
	for {
		opcode, payload, err := v.next()
		if err != nil {
			return fmt.Errorf("closed before its first count (%w)", cause(err))
		}
		switch opcode {
		case 0x8:
			return fmt.Errorf("close %d", closeCode(payload))
		case 0x9:
			if err := v.write(frame(0x8a, payload)); err != nil {
				return err
			}
		case 0x1:
			joined, err := v.onText(payload)
			if err != nil || joined {
				v.joinedAt = time.Now()
				return err
			}
		}
	}
}

// onText says whether the frame is a count; for Socket.IO it answers the Engine.IO handshake.
func (v *viewer) onText(payload []byte) (bool, error) {
	if !v.cfg.socketIO {
		return true, nil
	}
	switch {
	case len(payload) == 0:
		return false, nil
	case payload[0] == '0': // Engine.IO open: connect to the main namespace with our auth
		return false, v.write(frame(0x81, []byte(`40{"auctionId":"`+v.auction+`"}`)))
	case payload[0] == '2': // Engine.IO ping
		return false, v.write(engineIOPong)
	case len(payload) > 1 && payload[0] == '4' && payload[1] == '4': // Socket.IO CONNECT_ERROR
		return false, fmt.Errorf("close %d", numberAfter(payload, codeKey))
	case len(payload) > 1 && payload[0] == '4' && payload[1] == '2': // Socket.IO EVENT
		return true, nil
	}
	return false, nil
}

// watch counts the count frames an observer receives until its connection ends.
func (v *viewer) watch(frames *atomic.Int64) {
	if err := v.conn.SetDeadline(time.Time{}); err != nil {
		return
	}
	for {
		opcode, payload, err := v.next()
		if err != nil {
			return
		}
		switch opcode {
		case 0x9:
			_ = v.write(frame(0x8a, payload))
		case 0x1:
			if v.cfg.socketIO && len(payload) > 0 && payload[0] == '2' {
				_ = v.write(engineIOPong)
			} else if !v.cfg.socketIO || (len(payload) > 1 && payload[0] == '4' && payload[1] == '2') {
				frames.Add(1)
			}
		}
	}
}

// leave sends a close frame and reads until the server has ended the connection.
func (v *viewer) leave() error {
	defer v.conn.Close()
	if err := v.conn.SetDeadline(time.Now().Add(closeTimeout)); err != nil {
		return err
	}
	if err := v.write(closeNormal); err != nil {
		return err
	}
	for {
		if _, _, err := v.next(); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return cause(err)
		}
	}
}

func (v *viewer) write(b []byte) error {
	_, err := v.conn.Write(b)
	return err
}

// fill reads more bytes into buf, after moving what is left of it to the front.
func (v *viewer) fill() error {
	if v.off > 0 {
		v.buf = v.buf[:copy(v.buf, v.buf[v.off:])]
		v.off = 0
	}
	if len(v.buf) == cap(v.buf) {
		v.buf = append(v.buf, make([]byte, cap(v.buf))...)[:len(v.buf)]
	}
	n, err := v.conn.Read(v.buf[len(v.buf):cap(v.buf)])
	v.buf = v.buf[:len(v.buf)+n]
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return fmt.Errorf("read: %w", err)
}

func (v *viewer) readUpgrade() error {
	for {
		if end := bytes.Index(v.buf, []byte("\r\n\r\n")); end >= 0 {
			head := v.buf[:end]
			if !bytes.HasPrefix(head, []byte("HTTP/1.1 101")) || !bytes.Contains(head, []byte(wsAccept)) {
				status, _, _ := bytes.Cut(head, []byte("\r\n"))
				return fmt.Errorf("upgrade refused: %s", status)
			}
			v.off = end + 4
			return nil
		}
		if len(v.buf) > 8192 {
			return errors.New("oversized HTTP response")
		}
		if err := v.fill(); err != nil {
			return fmt.Errorf("no upgrade (%w)", cause(err))
		}
	}
}

// next returns the next frame; its payload is valid until the following call.
func (v *viewer) next() (opcode byte, payload []byte, err error) {
	for {
		b := v.buf[v.off:]
		if len(b) >= 2 {
			length, header := int(b[1]&0x7f), 2
			switch length {
			case 126:
				length, header = -1, 4
				if len(b) >= 4 {
					length = int(b[2])<<8 | int(b[3])
				}
			case 127:
				return 0, nil, errors.New("oversized frame") // a count is never that long
			}
			if b[1]&0x80 != 0 {
				header += 4 // servers do not mask; skip a key if one came anyway
			}
			if length >= 0 && len(b) >= header+length {
				v.off += header + length
				return b[0] & 0x0f, b[header : header+length], nil
			}
		}
		if err := v.fill(); err != nil {
			return 0, nil, err
		}
	}
}

// cause drops one layer of context (the operation and addresses) when there is one.
func cause(err error) error {
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}

func frame(opcode byte, payload []byte) []byte {
	out := make([]byte, 6, 6+len(payload))
	out[0], out[1] = opcode, 0x80|byte(len(payload))
	return append(out, payload...)
}

func closeCode(payload []byte) int {
	if len(payload) < 2 {
		return 1005
	}
	return int(payload[0])<<8 | int(payload[1])
}

func numberAfter(payload, key []byte) int {
	at := bytes.Index(payload, key)
	if at < 0 {
		return -1
	}
	n, digits := 0, 0
	for _, c := range payload[at+len(key):] {
		if c < '0' || c > '9' {
			break
		}
		n, digits = n*10+int(c-'0'), digits+1
	}
	if digits == 0 {
		return -1
	}
	return n
}
