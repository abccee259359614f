// Command schema-registry serves a Confluent-compatible Schema Registry REST API (subjects, versions,
// schemas by id, config, compatibility; Avro, JSON Schema and Protobuf schema types) from memory, on an
// address devstack chooses. The registry itself is franz-go's srfake package (pkg/sr/srfake): it starts on
// an ephemeral loopback port, and this program forwards the chosen address to it.
//
// Used by devstack/services/registry.py only; the Docker stack runs Confluent's registry instead.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/sr/srfake"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:15050", "host:port to listen on")
	flag.Parse()

	reg := srfake.New()
	defer reg.Close()
	target, err := url.Parse(reg.URL())
	if err != nil {
		log.Fatalf("schema-registry: bad internal URL %q: %v", reg.URL(), err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	mux := http.NewServeMux()
	// the root answers like Confluent's registry does, for health checks
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	})
	mux.Handle("/", proxy)

	srv := &http.Server{Addr: *addr, Handler: logRequests(mux), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		_ = srv.Close()
	}()
	log.Printf("schema-registry (in-memory, Confluent REST API) listening on http://%s", *addr)
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatalf("schema-registry: %v", err)
	}
}

func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.Printf("%s %s", r.Method, r.URL.RequestURI())
		next.ServeHTTP(w, r)
	})
}
