package apiserver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestUsage: a completion's usage is the model's token counts summed over the turn's model
// requests (two for a turn with a tool call), streamed or not; a stream carries them only when
// stream_options.include_usage asks, in a last chunk without choices, as OpenAI does.
func TestUsage(t *testing.T) {
	f := newFixture(t, nil, fixtureOpts{})
	client := openai.NewClient(option.WithBaseURL(f.url+"/v1"), option.WithMaxRetries(0))
	ctx := context.Background()
	per := func(requests int64) openai.CompletionUsage {
		return openai.CompletionUsage{PromptTokens: requests * scriptedPromptTokens, CompletionTokens: requests * scriptedCompletionTokens,
			TotalTokens: requests * (scriptedPromptTokens + scriptedCompletionTokens)}
	}
	same := func(got, want openai.CompletionUsage) bool {
		return got.PromptTokens == want.PromptTokens && got.CompletionTokens == want.CompletionTokens && got.TotalTokens == want.TotalTokens
	}
	for _, tc := range []struct {
		prompt   string
		requests int64
	}{{"hello", 1}, {"count: a b", 2}} {
		t.Run(tc.prompt, func(t *testing.T) {
			res, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "hermes",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(tc.prompt)}})
			if err != nil {
				t.Fatal(err)
			}
			if !same(res.Usage, per(tc.requests)) {
				t.Fatalf("usage %+v, want %+v", res.Usage, per(tc.requests))
			}

			stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "hermes",
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage(tc.prompt)},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
			var last openai.ChatCompletionChunk
			var acc openai.ChatCompletionAccumulator
			for stream.Next() {
				last = stream.Current()
				acc.AddChunk(last)
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if len(last.Choices) != 0 || !same(last.Usage, per(tc.requests)) || !same(acc.Usage, per(tc.requests)) || acc.Choices[0].FinishReason != "stop" {
				t.Fatalf("last chunk %s; accumulated usage %+v", last.RawJSON(), acc.Usage)
			}
		})
	}

	// The wire: with include_usage every chunk has "usage": null but the last, which has no
	// choices; without it no chunk has a usage field.
	for _, include := range []bool{true, false} {
		body, _ := json.Marshal(map[string]any{"model": "hermes", "stream": true, "messages": []any{user("hi")},
			"stream_options": map[string]any{"include_usage": include}})
		req, _ := http.NewRequest(http.MethodPost, f.url+"/v1/chat/completions", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var data []map[string]json.RawMessage
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			line, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok || line == "[DONE]" {
				continue
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			data = append(data, m)
		}
		res.Body.Close()
		for i, m := range data {
			u, has := m["usage"]
			switch {
			case !include && has:
				t.Fatalf("chunk %d has usage without include_usage: %s", i, u)
			case include && i < len(data)-1 && string(u) != "null":
				t.Fatalf("chunk %d usage %s, want null", i, u)
			case include && i == len(data)-1 && (string(m["choices"]) != "[]" || string(u) != `{"prompt_tokens":11,"completion_tokens":3,"total_tokens":14}`):
				t.Fatalf("last chunk: choices %s usage %s", m["choices"], u)
			}
		}
	}
}

// TestRetrieveModel: GET /v1/models/{id} answers for the listed model and, for another id,
// 404 with OpenAI's error body, which OpenAI's client reads.
func TestRetrieveModel(t *testing.T) {
	f := newFixture(t, nil, fixtureOpts{})
	client := openai.NewClient(option.WithBaseURL(f.url+"/v1"), option.WithMaxRetries(0))
	m, err := client.Models.Get(context.Background(), "hermes")
	if err != nil || m.ID != "hermes" || m.Object != "model" || m.OwnedBy != "hermes" {
		t.Fatalf("%+v %v", m, err)
	}
	_, err = client.Models.Get(context.Background(), "gpt-4o")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" || apiErr.Param != "model" ||
		apiErr.Type != "invalid_request_error" || !strings.Contains(apiErr.Message, `The model "gpt-4o" does not exist`) {
		t.Fatalf("unknown model: %v", err)
	}
	if r := f.do(t, http.MethodPost, "/v1/models/hermes", `{}`); r.status != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", r.status)
	}
	if r := f.do(t, http.MethodGet, "/v1/models/", ""); r.status != http.StatusNotFound || !strings.Contains(r.body, "model_not_found") {
		t.Fatalf("empty id: %d %s", r.status, r.body)
	}
}
