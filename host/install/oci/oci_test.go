package oci_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/hermes-agent/hermes/host/install/oci"
	"github.com/hermes-agent/hermes/host/install/oci/ocitest"
)

// weather is the artifact most tests publish. The archive's bytes are opaque here, so they need
// not be a real tar.gz.
func weather(archive string) oci.Artifact {
	return oci.Artifact{
		Name:        "weather",
		Version:     "1.2.0",
		ArchiveName: "weather-1.2.0.tar.gz",
		Archive:     []byte(archive),
		Signature:   []byte(`{"keyid":"test","sig":"AAAA"}`),
	}
}

func mustParse(t *testing.T, s string) oci.Reference {
	t.Helper()
	ref, err := oci.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func mustPush(t *testing.T, ref oci.Reference, a oci.Artifact) string {
	t.Helper()
	d, err := oci.Push(context.Background(), ref, a, oci.Options{})
	if err != nil {
		t.Fatalf("Push(%s): %v", ref, err)
	}
	return d
}

func assertSameArtifact(t *testing.T, got, want oci.Artifact) {
	t.Helper()
	if got.Name != want.Name || got.Version != want.Version || got.ArchiveName != want.ArchiveName ||
		!bytes.Equal(got.Archive, want.Archive) || !bytes.Equal(got.Signature, want.Signature) ||
		(got.Signature == nil) != (want.Signature == nil) {
		t.Fatalf("pulled artifact differs:\n got %+v\nwant %+v", got, want)
	}
}

// assertError checks an error's kind and exact text.
func assertError(t *testing.T, err error, kind error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q is not %v", err, kind)
	}
	if err.Error() != want {
		t.Errorf("error:\n got %s\nwant %s", err, want)
	}
}

func TestPushThenPullByTagAndByDigest(t *testing.T) {
	host, _ := ocitest.Start(t)
	ctx := context.Background()
	ref := mustParse(t, "oci://"+host+"/acme/weather:1.2.0")
	want := weather("archive bytes")

	pushed := mustPush(t, ref, want)
	if err := digest.Digest(pushed).Validate(); err != nil || !strings.HasPrefix(pushed, "sha256:") {
		t.Fatalf("Push returned %q, want a sha256 digest", pushed)
	}

	byTag, err := oci.Pull(ctx, ref, oci.Options{})
	if err != nil {
		t.Fatalf("Pull by tag: %v", err)
	}
	assertSameArtifact(t, byTag.Artifact, want)
	if byTag.Digest != pushed {
		t.Errorf("Pull by tag: Digest = %s, want %s", byTag.Digest, pushed)
	}
	wantResolved := ref
	wantResolved.Digest = pushed
	if byTag.Resolved != wantResolved {
		t.Errorf("Pull by tag: Resolved = %+v, want %+v", byTag.Resolved, wantResolved)
	}

	byDigest, err := oci.Pull(ctx, mustParse(t, "oci://"+host+"/acme/weather@"+pushed), oci.Options{})
	if err != nil {
		t.Fatalf("Pull by digest: %v", err)
	}
	assertSameArtifact(t, byDigest.Artifact, want)
	if byDigest.Digest != pushed {
		t.Errorf("Pull by digest: Digest = %s, want %s", byDigest.Digest, pushed)
	}

	pinned, err := oci.Pull(ctx, byTag.Resolved, oci.Options{})
	if err != nil {
		t.Fatalf("Pull by tag and digest: %v", err)
	}
	assertSameArtifact(t, pinned.Artifact, want)

	resolved, err := oci.Resolve(ctx, ref, oci.Options{})
	if err != nil || resolved != pushed {
		t.Fatalf("Resolve = %q, %v; want %q", resolved, err, pushed)
	}
}

func TestHandBuiltReferencesAreChecked(t *testing.T) {
	host, _ := ocitest.Start(t)
	noTag := oci.Reference{Registry: host, Repository: "acme/weather"}
	_, err := oci.Pull(context.Background(), noTag, oci.Options{})
	assertError(t, err, oci.ErrBadReference, "oci://"+host+"/acme/weather: missing tag or digest (add :VERSION or @sha256:DIGEST)")
	_, err = oci.Resolve(context.Background(), noTag, oci.Options{})
	assertError(t, err, oci.ErrBadReference, "oci://"+host+"/acme/weather: missing tag or digest (add :VERSION or @sha256:DIGEST)")

	misSplit := oci.Reference{Registry: host, Repository: "acme/weather:1", Tag: "2"}
	_, err = oci.Push(context.Background(), misSplit, weather("x"), oci.Options{})
	assertError(t, err, oci.ErrBadReference, "oci://"+host+`/acme/weather:1:2: invalid tag "1:2" (up to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-')`)

	misSplit = oci.Reference{Registry: host, Repository: "acme/weather:1"}
	_, err = oci.Push(context.Background(), misSplit, weather("x"), oci.Options{})
	assertError(t, err, oci.ErrBadReference, fmt.Sprintf("oci://%s/acme/weather:1: malformed reference %+v (build references with ParseReference)", host, misSplit))
}

func TestPushWithoutSignature(t *testing.T) {
	host, _ := ocitest.Start(t)
	ref := mustParse(t, "oci://"+host+"/acme/weather:1.2.0")
	want := weather("unsigned")
	want.Signature = nil
	unsigned := mustPush(t, ref, want)

	got, err := oci.Pull(context.Background(), ref, oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertSameArtifact(t, got.Artifact, want)

	// An empty signature is no signature: same layout, same digest.
	empty := want
	empty.Signature = []byte{}
	if d := mustPush(t, ref, empty); d != unsigned {
		t.Errorf("empty signature: digest %s, want %s as with none", d, unsigned)
	}
}

// goldenDigest is the manifest digest of weather("golden"). It changes only when the layout
// changes, and then every plugin published before gets a new digest when published again: that
// deserves a new artifact type, or at least a deliberate update of this constant.
const goldenDigest = "sha256:c536759c51ae954997b7a2b7f989441906109534b3fb629f6581fb1a5c7b20b9"

func TestPushIsReproducible(t *testing.T) {
	first, _ := ocitest.Start(t)
	second, _ := ocitest.Start(t)
	a := weather("golden")

	digests := []string{
		mustPush(t, mustParse(t, "oci://"+first+"/acme/weather:1.2.0"), a),
		mustPush(t, mustParse(t, "oci://"+first+"/acme/weather:1.2.0"), a),
		mustPush(t, mustParse(t, "oci://"+first+"/acme/weather:stable"), a),
		mustPush(t, mustParse(t, "oci://"+second+"/other/name:x"), a),
	}
	for i, d := range digests {
		if d != goldenDigest {
			t.Errorf("push %d: digest %s, want %s", i, d, goldenDigest)
		}
	}
}

func TestMovedTagResolvesToNewDigest(t *testing.T) {
	host, _ := ocitest.Start(t)
	ctx := context.Background()
	ref := mustParse(t, "oci://"+host+"/acme/weather:latest")
	old := weather("old bytes")
	oldDigest := mustPush(t, ref, old)
	newer := weather("new bytes")
	newDigest := mustPush(t, ref, newer)
	if newDigest == oldDigest {
		t.Fatalf("different archives gave the same digest %s", newDigest)
	}

	resolved, err := oci.Resolve(ctx, ref, oci.Options{})
	if err != nil || resolved != newDigest {
		t.Fatalf("Resolve after the move = %q, %v; want %q", resolved, err, newDigest)
	}
	byTag, err := oci.Pull(ctx, ref, oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertSameArtifact(t, byTag.Artifact, newer)

	// A pin to the old digest still gets the old bytes, whatever the tag says now.
	pinned := ref
	pinned.Digest = oldDigest
	byDigest, err := oci.Pull(ctx, pinned, oci.Options{})
	if err != nil {
		t.Fatal(err)
	}
	assertSameArtifact(t, byDigest.Artifact, old)
}

func TestPullByDigestNotInRegistry(t *testing.T) {
	host, _ := ocitest.Start(t)
	ref := mustParse(t, "oci://"+host+"/acme/weather:1.2.0")
	mustPush(t, ref, weather("real"))

	other := digest.FromString("something else").String()
	pinned := ref
	pinned.Digest = other
	_, err := oci.Pull(context.Background(), pinned, oci.Options{})
	assertError(t, err, oci.ErrNotFound, pinned.String()+": fetching the manifest: not found in registry "+host+" (check the repository, tag or digest)")

	_, err = oci.Resolve(context.Background(), pinned, oci.Options{})
	assertError(t, err, oci.ErrNotFound, pinned.String()+": resolving: not found in registry "+host+" (check the repository, tag or digest)")
}

func TestPullUnknownTagAndRepository(t *testing.T) {
	host, _ := ocitest.Start(t)
	mustPush(t, mustParse(t, "oci://"+host+"/acme/weather:1.2.0"), weather("x"))
	for _, s := range []string{"oci://" + host + "/acme/weather:9.9.9", "oci://" + host + "/acme/nothing:1"} {
		_, err := oci.Pull(context.Background(), mustParse(t, s), oci.Options{})
		assertError(t, err, oci.ErrNotFound, s+": fetching the manifest: not found in registry "+host+" (check the repository, tag or digest)")
	}
}

// pushRaw publishes a hand-made manifest and the blobs it refers to with oras directly, to make
// artifacts Push would never write.
func pushRaw(t *testing.T, host, repository, tag, mediaType string, manifest any, blobs ...[]byte) {
	t.Helper()
	ctx := context.Background()
	repo, err := remote.NewRepository(host + "/" + repository)
	if err != nil {
		t.Fatal(err)
	}
	repo.PlainHTTP = true
	repo.MaxMetadataBytes = 2 * oci.MaxManifestBytes // to push the oversize manifest
	for _, b := range blobs {
		desc := ocispec.Descriptor{MediaType: "application/octet-stream", Digest: digest.FromBytes(b), Size: int64(len(b))}
		if err := repo.Push(ctx, desc, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
	}
	data, err := json.Marshal(manifest)
	if err != nil {
		t.Fatal(err)
	}
	desc := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	if err := repo.PushReference(ctx, desc, bytes.NewReader(data), tag); err != nil {
		t.Fatal(err)
	}
}

func layer(mediaType string, data []byte, title string) ocispec.Descriptor {
	d := ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
	if title != "" {
		d.Annotations = map[string]string{ocispec.AnnotationTitle: title}
	}
	return d
}

func TestPullRefusesWhatIsNotAPlugin(t *testing.T) {
	archive := []byte("archive")
	signature := []byte("{}")
	good := func() ocispec.Manifest {
		return ocispec.Manifest{
			Versioned:    specs.Versioned{SchemaVersion: 2},
			MediaType:    ocispec.MediaTypeImageManifest,
			ArtifactType: oci.ArtifactType,
			Config:       ocispec.DescriptorEmptyJSON,
			Layers:       []ocispec.Descriptor{layer(oci.ArchiveMediaType, archive, "weather-1.2.0.tar.gz")},
			Annotations:  map[string]string{ocispec.AnnotationTitle: "weather", ocispec.AnnotationVersion: "1.2.0"},
		}
	}
	tests := []struct {
		name   string
		change func(m *ocispec.Manifest)
		detail string
	}{
		{"other artifact type", func(m *ocispec.Manifest) { m.ArtifactType = "application/vnd.example.thing.v1" },
			`artifactType "application/vnd.example.thing.v1", want "application/vnd.hermes.plugin.v1"`},
		{"container image", func(m *ocispec.Manifest) {
			m.ArtifactType = ""
			m.Config = layer(ocispec.MediaTypeImageConfig, []byte("{}"), "")
			m.Layers = []ocispec.Descriptor{layer(ocispec.MediaTypeImageLayerGzip, archive, "")}
		}, `artifactType "", want "application/vnd.hermes.plugin.v1"`},
		{"no archive layer", func(m *ocispec.Manifest) {
			m.Layers = []ocispec.Descriptor{layer(oci.SignatureMediaType, signature, "")}
		},
			`no layer of media type "application/vnd.hermes.plugin.layer.v1.tar+gzip"`},
		{"no layers at all", func(m *ocispec.Manifest) { m.Layers = nil },
			`no layer of media type "application/vnd.hermes.plugin.layer.v1.tar+gzip"`},
		{"two archive layers", func(m *ocispec.Manifest) { m.Layers = append(m.Layers, m.Layers[0]) },
			"more than one archive layer"},
		{"two signature layers", func(m *ocispec.Manifest) {
			s := layer(oci.SignatureMediaType, signature, "")
			m.Layers = append(m.Layers, s, s)
		}, "more than one signature layer"},
		{"unknown layer type", func(m *ocispec.Manifest) {
			m.Layers = append(m.Layers, layer("application/x-extra", []byte("x"), ""))
		}, `layer 1 has media type "application/x-extra"`},
		{"archive without title", func(m *ocispec.Manifest) { m.Layers[0].Annotations = nil },
			"the archive layer has no org.opencontainers.image.title annotation"},
		{"archive title with a path", func(m *ocispec.Manifest) { m.Layers[0].Annotations[ocispec.AnnotationTitle] = "../../.bashrc" },
			`archive file name "../../.bashrc" is not a plain file name`},
		{"name with a newline", func(m *ocispec.Manifest) { m.Annotations[ocispec.AnnotationTitle] = "weather\nok" },
			`plugin name "weather\nok" contains control or non-printable characters`},
		{"no version", func(m *ocispec.Manifest) { delete(m.Annotations, ocispec.AnnotationVersion) },
			"manifest lacks the org.opencontainers.image.title or org.opencontainers.image.version annotation"},
		{"sha512 layer digest", func(m *ocispec.Manifest) {
			m.Layers[0].Digest = digest.SHA512.FromBytes(archive)
		}, `layer 0 digest "` + digest.SHA512.FromBytes(archive).String() + `" is not a sha256 digest`},
		{"wrong schema version", func(m *ocispec.Manifest) { m.SchemaVersion = 1 },
			"manifest schemaVersion 1, want 2"},
	}
	host, _ := ocitest.Start(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good()
			tt.change(&m)
			tag := fmt.Sprintf("case%d", i)
			pushRaw(t, host, "acme/weather", tag, ocispec.MediaTypeImageManifest, m, archive, signature, []byte("{}"), []byte("x"))
			ref := mustParse(t, "oci://"+host+"/acme/weather:"+tag)
			_, err := oci.Pull(context.Background(), ref, oci.Options{})
			assertError(t, err, oci.ErrNotPlugin, ref.String()+": not a hermes plugin artifact ("+tt.detail+")")
		})
	}

	t.Run("the unchanged manifest is accepted", func(t *testing.T) {
		pushRaw(t, host, "acme/weather", "good", ocispec.MediaTypeImageManifest, good(), archive)
		if _, err := oci.Pull(context.Background(), mustParse(t, "oci://"+host+"/acme/weather:good"), oci.Options{}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("image index", func(t *testing.T) {
		pushRaw(t, host, "acme/weather", "good", ocispec.MediaTypeImageManifest, good(), archive)
		m := good()
		data, _ := json.Marshal(m)
		index := ocispec.Index{
			Versioned: specs.Versioned{SchemaVersion: 2},
			MediaType: ocispec.MediaTypeImageIndex,
			Manifests: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageManifest, Digest: digest.FromBytes(data), Size: int64(len(data))}},
		}
		pushRaw(t, host, "acme/weather", "index", ocispec.MediaTypeImageIndex, index)
		ref := mustParse(t, "oci://"+host+"/acme/weather:index")
		_, err := oci.Pull(context.Background(), ref, oci.Options{})
		assertError(t, err, oci.ErrNotPlugin, ref.String()+`: not a hermes plugin artifact (manifest media type "application/vnd.oci.image.index.v1+json", want "application/vnd.oci.image.manifest.v1+json")`)
	})
}

// countBlobGets counts GET requests for blobs, to show that a refusal came before any download.
func countBlobGets(count *atomic.Int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				count.Add(1)
			}
			next.ServeHTTP(w, r)
		})
	}
}

func TestPullRefusesOversizeBeforeDownloading(t *testing.T) {
	var blobGets atomic.Int64
	host, _ := ocitest.Start(t, ocitest.WithHandler(countBlobGets(&blobGets)))
	ref := mustParse(t, "oci://"+host+"/acme/weather:1.2.0")
	a := weather(strings.Repeat("a", 1000)) // the signature is 29 bytes
	mustPush(t, ref, a)

	_, err := oci.Pull(context.Background(), ref, oci.Options{MaxBytes: 999})
	assertError(t, err, oci.ErrTooLarge, ref.String()+": layer 0 (application/vnd.hermes.plugin.layer.v1.tar+gzip) is 1000 bytes, over the 999-byte limit")

	_, err = oci.Pull(context.Background(), ref, oci.Options{MaxBytes: 1000})
	assertError(t, err, oci.ErrTooLarge, ref.String()+": layers are over 1000 bytes together, the limit")

	if n := blobGets.Load(); n != 0 {
		t.Errorf("%d blobs were downloaded before the refusal", n)
	}
	if _, err := oci.Pull(context.Background(), ref, oci.Options{MaxBytes: 1029}); err != nil {
		t.Fatalf("Pull with a limit equal to the total: %v", err)
	}
}

func TestPullRefusesOversizeManifest(t *testing.T) {
	host, _ := ocitest.Start(t)
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: oci.ArtifactType,
		Config:       ocispec.DescriptorEmptyJSON,
		Annotations:  map[string]string{"padding": strings.Repeat("p", oci.MaxManifestBytes)},
	}
	pushRaw(t, host, "acme/weather", "huge", ocispec.MediaTypeImageManifest, m)
	ref := mustParse(t, "oci://"+host+"/acme/weather:huge")
	data, _ := json.Marshal(m)
	_, err := oci.Pull(context.Background(), ref, oci.Options{})
	assertError(t, err, oci.ErrTooLarge, fmt.Sprintf("%s: fetching the manifest: manifest is %d bytes, over the 4194304-byte limit", ref, len(data)))
}

func TestPushRefusesOversize(t *testing.T) {
	host, _ := ocitest.Start(t)
	ref := mustParse(t, "oci://"+host+"/acme/weather:1.2.0")
	a := weather(strings.Repeat("a", 100))

	_, err := oci.Push(context.Background(), ref, a, oci.Options{MaxBytes: 99})
	assertError(t, err, oci.ErrTooLarge, ref.String()+": cannot publish: the archive is 100 bytes, over the 99-byte limit")
	_, err = oci.Push(context.Background(), ref, a, oci.Options{MaxBytes: 100})
	assertError(t, err, oci.ErrTooLarge, ref.String()+": cannot publish: archive and signature are 129 bytes together, over the 100-byte limit")

	if _, err := oci.Resolve(context.Background(), ref, oci.Options{}); !errors.Is(err, oci.ErrNotFound) {
		t.Fatalf("after refused pushes, Resolve = %v; want ErrNotFound (nothing published)", err)
	}
}

func TestPushRefusesBadInput(t *testing.T) {
	host, _ := ocitest.Start(t)
	tagged := mustParse(t, "oci://"+host+"/acme/weather:1.2.0")
	tests := []struct {
		name   string
		ref    oci.Reference
		change func(a *oci.Artifact)
		err    string
		kind   error
	}{
		{"digest reference", mustParse(t, "oci://"+host+"/acme/weather@"+digest.FromString("x").String()), func(*oci.Artifact) {},
			"publishing needs a tag and no digest (a digest names existing content; use oci://HOST/REPOSITORY:TAG)", oci.ErrBadReference},
		{"no name", tagged, func(a *oci.Artifact) { a.Name = "" }, "cannot publish: the plugin has no name", nil},
		{"no version", tagged, func(a *oci.Artifact) { a.Version = "" }, "cannot publish: the plugin has no version", nil},
		{"no archive name", tagged, func(a *oci.Artifact) { a.ArchiveName = "" }, "cannot publish: the archive has no file name", nil},
		{"empty archive", tagged, func(a *oci.Artifact) { a.Archive = nil }, "cannot publish: the archive is empty", nil},
		{"archive name with a slash", tagged, func(a *oci.Artifact) { a.ArchiveName = "dir/weather.tar.gz" },
			`cannot publish: archive file name "dir/weather.tar.gz" is not a plain file name`, nil},
		{"version with a newline", tagged, func(a *oci.Artifact) { a.Version = "1\n2" },
			`cannot publish: plugin version "1\n2" contains control or non-printable characters`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := weather("x")
			tt.change(&a)
			before := a
			_, err := oci.Push(context.Background(), tt.ref, a, oci.Options{})
			if err == nil || err.Error() != tt.ref.String()+": "+tt.err {
				t.Fatalf("Push error = %v, want %q", err, tt.ref.String()+": "+tt.err)
			}
			if tt.kind != nil && !errors.Is(err, tt.kind) {
				t.Errorf("error is not %v", tt.kind)
			}
			if a.Name != before.Name || a.Version != before.Version || a.ArchiveName != before.ArchiveName {
				t.Errorf("Push changed its input: %+v, was %+v", a, before)
			}
		})
	}
}

func TestPullCatchesCorruptContent(t *testing.T) {
	a := weather("the real archive")
	archiveDigest := digest.FromBytes(a.Archive).String()
	signatureDigest := digest.FromBytes(a.Signature).String()

	// Push to a healthy registry first to learn the manifest digest the corrupting one will serve.
	healthy, _ := ocitest.Start(t)
	manifestDigest := mustPush(t, mustParse(t, "oci://"+healthy+"/acme/weather:1.2.0"), a)

	tests := []struct {
		name    string
		corrupt string
		byDig   bool
		want    func(ref oci.Reference) string
	}{
		{"archive blob", archiveDigest, false, func(ref oci.Reference) string {
			return fmt.Sprintf("%s: fetching the archive layer %s: registry sent bytes with digest %s for %s (the registry is broken or tampered with)",
				ref, archiveDigest, corrupted(a.Archive), archiveDigest)
		}},
		{"signature blob", signatureDigest, false, func(ref oci.Reference) string {
			return fmt.Sprintf("%s: fetching the signature layer %s: registry sent bytes with digest %s for %s (the registry is broken or tampered with)",
				ref, signatureDigest, corrupted(a.Signature), signatureDigest)
		}},
		{"manifest by tag", manifestDigest, false, func(ref oci.Reference) string {
			return fmt.Sprintf("%s: fetching the manifest: registry sent bytes with digest ", ref)
		}},
		{"manifest by digest", manifestDigest, true, func(ref oci.Reference) string {
			return fmt.Sprintf("%s: fetching the manifest: registry sent bytes with digest ", ref)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, _ := ocitest.Start(t, ocitest.WithHandler(ocitest.CorruptContent(tt.corrupt)))
			ref := mustParse(t, "oci://"+host+"/acme/weather:1.2.0")
			if got := mustPush(t, ref, a); got != manifestDigest {
				t.Fatalf("push digest %s, want %s", got, manifestDigest)
			}
			if tt.byDig {
				ref.Digest = manifestDigest
			}
			_, err := oci.Pull(context.Background(), ref, oci.Options{})
			if err == nil {
				t.Fatal("Pull accepted corrupt content")
			}
			if !errors.Is(err, oci.ErrDigestMismatch) {
				t.Errorf("error %q is not ErrDigestMismatch", err)
			}
			if want := tt.want(ref); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error:\n got %s\nwant %s…", err, want)
			}
		})
	}
}

// corrupted is the digest of data as ocitest.CorruptContent serves it.
func corrupted(data []byte) string {
	c := bytes.Clone(data)
	c[len(c)-1] ^= 0xff
	return digest.FromBytes(c).String()
}

func TestUnreachableRegistry(t *testing.T) {
	host, stop := ocitest.Start(t)
	stop()
	ref := mustParse(t, "oci://"+host+"/acme/weather:1.2.0")
	for name, call := range map[string]func() error{
		"pull":    func() error { _, err := oci.Pull(context.Background(), ref, oci.Options{}); return err },
		"push":    func() error { _, err := oci.Push(context.Background(), ref, weather("x"), oci.Options{}); return err },
		"resolve": func() error { _, err := oci.Resolve(context.Background(), ref, oci.Options{}); return err },
	} {
		err := call()
		if !errors.Is(err, oci.ErrUnreachable) {
			t.Errorf("%s: error %v is not ErrUnreachable", name, err)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, ref.String()+": ") || !strings.Contains(msg, ": registry "+host+" unreachable: ") || !strings.HasSuffix(msg, " (is it running?)") {
			t.Errorf("%s: error %q does not name the reference, the registry and what to check", name, msg)
		}
	}
}

func TestCredentials(t *testing.T) {
	host, _ := ocitest.Start(t, ocitest.WithBasicAuth("alice", "correct-horse"))
	ctx := context.Background()
	ref := mustParse(t, "oci://"+host+"/acme/weather:1.2.0")
	a := weather("private")

	_, err := oci.Push(ctx, ref, a, oci.Options{})
	assertError(t, err, oci.ErrUnauthorized, ref.String()+": uploading the config blob: registry "+host+" requires credentials (give a username and password)")

	_, err = oci.Push(ctx, ref, a, oci.Options{Username: "alice", Password: "wrong-horse"})
	assertError(t, err, oci.ErrUnauthorized, ref.String()+": uploading the config blob: registry "+host+" refused the credentials (check the username and password)")

	good := oci.Options{Username: "alice", Password: "correct-horse"}
	pushed, err := oci.Push(ctx, ref, a, good)
	if err != nil {
		t.Fatalf("Push with credentials: %v", err)
	}
	got, err := oci.Pull(ctx, ref, good)
	if err != nil {
		t.Fatalf("Pull with credentials: %v", err)
	}
	assertSameArtifact(t, got.Artifact, a)
	if got.Digest != pushed {
		t.Errorf("Digest %s, want %s", got.Digest, pushed)
	}

	_, err = oci.Pull(ctx, ref, oci.Options{})
	assertError(t, err, oci.ErrUnauthorized, ref.String()+": fetching the manifest: registry "+host+" requires credentials (give a username and password)")
}

func TestProgress(t *testing.T) {
	host, _ := ocitest.Start(t)
	ref := mustParse(t, "oci://"+host+"/acme/weather:1.2.0")
	a := weather(strings.Repeat("z", 100_000))
	total := int64(len(a.Archive) + len(a.Signature))

	check := func(t *testing.T, calls [][2]int64) {
		t.Helper()
		if len(calls) == 0 {
			t.Fatal("Progress was never called")
		}
		var last int64
		for _, c := range calls {
			if c[1] != total || c[0] < last || c[0] > total {
				t.Fatalf("Progress(%d, %d) after done=%d; want done rising to total %d", c[0], c[1], last, total)
			}
			last = c[0]
		}
		if last != total {
			t.Fatalf("last Progress done = %d, want %d", last, total)
		}
	}
	var pushCalls, pullCalls [][2]int64
	if _, err := oci.Push(context.Background(), ref, a, oci.Options{Progress: func(done, total int64) { pushCalls = append(pushCalls, [2]int64{done, total}) }}); err != nil {
		t.Fatal(err)
	}
	t.Run("push", func(t *testing.T) { check(t, pushCalls) })
	if _, err := oci.Pull(context.Background(), ref, oci.Options{Progress: func(done, total int64) { pullCalls = append(pullCalls, [2]int64{done, total}) }}); err != nil {
		t.Fatal(err)
	}
	t.Run("pull", func(t *testing.T) { check(t, pullCalls) })
}

func TestCanceledContext(t *testing.T) {
	host, _ := ocitest.Start(t)
	ref := mustParse(t, "oci://"+host+"/acme/weather:1.2.0")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := oci.Pull(ctx, ref, oci.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Pull with a canceled context: %v, want context.Canceled", err)
	}
}
