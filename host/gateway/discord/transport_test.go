package discord

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"
)

// The session's transport moves discordgo's API requests to api_url, keeping the path and
// query, and sends nothing (the token rides on every request) anywhere else.
func TestRebase(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name, api, url, want, err string
	}{
		{"root", srv.URL, discordgo.EndpointUser("@me"), "/users/@me Bot t", ""},
		{"with a path", srv.URL + "/api/v10/", discordgo.EndpointChannelMessages("9") + "?limit=1", "/api/v10/channels/9/messages?limit=1 Bot t", ""},
		{"the CDN", srv.URL, discordgo.EndpointUserAvatar("1", "2"), "", "refused a request outside the API to cdn.discordapp.com"},
		{"another host", srv.URL, "https://evil.example/api/v9/users/@me", "", "refused a request outside the API to evil.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New("t", tc.api, nil)
			if err != nil {
				t.Fatal(err)
			}
			got = nil
			req, _ := http.NewRequest("GET", tc.url, nil)
			req.Header.Set("Authorization", "Bot t")
			resp, err := a.s.Client.Do(req)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || len(got) != 0 {
					t.Fatalf("err %v, requests %q", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if len(got) != 1 || got[0] != tc.want {
				t.Fatalf("requests %q, want %q", got, tc.want)
			}
			if req.URL.String() != tc.url {
				t.Fatalf("the request was changed: %s", req.URL)
			}
		})
	}
}
