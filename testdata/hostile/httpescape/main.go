//go:build wasip1

// Command httpescape is a hostile fixture: its fetch tool requests any URL it is given, so host
// tests can check the allow-list, redirects and the refusal of private addresses.
package main

import hermes "github.com/hermes-agent/hermes/sdk/go"

type fetchArgs struct {
	URL    string `json:"url" desc:"any URL"`
	Method string `json:"method,omitempty" desc:"default GET"`
}

type fetchResult struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

func init() {
	hermes.Tool("fetch", "Request any URL through hermes.HTTP", func(a fetchArgs) (fetchResult, error) {
		resp, err := hermes.HTTP(hermes.Request{Method: a.Method, URL: a.URL})
		return fetchResult{Status: resp.Status, Body: string(resp.Body)}, err
	})
}

//go:wasmexport fetch
func fetchExport() int32 { return hermes.Run("fetch") }

func main() {}
