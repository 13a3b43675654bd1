// Package oci publishes hermes plugins to OCI registries and fetches them back, with
// oras.land/oras-go/v2.
//
// A plugin is stored as an OCI 1.1 artifact: an image manifest whose artifactType is
// ArtifactType, whose config is the empty descriptor, and whose layers are the plugin's
// reproducible NAME-VERSION.tar.gz (ArchiveMediaType, titled with its file name) and, when there
// is one, its signature (SignatureMediaType). The manifest carries the plugin's name and version
// as org.opencontainers.image.title and .version and no creation time, so publishing the same
// bytes twice, anywhere, gives the same manifest digest.
//
// Everything read from a registry is untrusted: manifests are capped at MaxManifestBytes and
// blobs at Options.MaxBytes before they are read, every byte is checked against the digest and
// size it was asked for by, and anything not in the layout above is refused.
package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types of the hermes plugin artifact, version 1. A change to the layout that an older
// hermes could misread gets new ones.
const (
	ArtifactType       = "application/vnd.hermes.plugin.v1"
	ArchiveMediaType   = "application/vnd.hermes.plugin.layer.v1.tar+gzip"
	SignatureMediaType = "application/vnd.hermes.plugin.signature.v1+json"
)

const (
	// MaxManifestBytes caps a manifest. Ours are well under 2 KiB; 4 MiB is what registries
	// themselves commonly accept, so anything over it is not a manifest we wrote.
	MaxManifestBytes = 4 << 20
	// DefaultMaxBytes is Options.MaxBytes when that is zero or less: far above any plugin built so far
	// (a few MiB), low enough that a hostile registry cannot fill memory.
	DefaultMaxBytes = 128 << 20
	// maxLabelBytes caps a plugin name, version or archive file name, published or pulled.
	maxLabelBytes = 256
)

// Options are the settings of one Push, Pull or Resolve. The zero value is ready to use.
type Options struct {
	// PlainHTTP speaks plain HTTP to any registry. When false (the default), HTTPS is used for
	// every registry but a loopback one (localhost, 127.0.0.0/8, ::1; see IsLoopback), which is
	// how local and test registries are run and where there is no network to eavesdrop on.
	PlainHTTP bool
	// MaxBytes caps each blob and all blobs together, on push and on pull. A pull checks the
	// sizes the manifest declares before fetching anything, and reads no byte past them.
	// Zero (or less) means DefaultMaxBytes.
	MaxBytes int64
	// Progress, when set, is called on the calling goroutine as layers go out or come in: done
	// counts up to total, the size of all layers. A pull reports bytes as they arrive; a push
	// reports each layer when it is uploaded or found already there. It is called at least once
	// more, with done == total, when all are through.
	Progress func(done, total int64)
	// Username and Password are sent to the registry named in the reference, and nowhere else,
	// when it asks for them. Empty means anonymous. They appear in no error or log.
	Username, Password string
}

// String shows the options without the password, so that printing them, by accident or in a
// debug log, does not leak it.
func (o Options) String() string {
	password := ""
	if o.Password != "" {
		password = "[REDACTED]"
	}
	return fmt.Sprintf("{PlainHTTP:%v MaxBytes:%d Progress:%v Username:%q Password:%s}", o.PlainHTTP, o.MaxBytes, o.Progress != nil, o.Username, password)
}

// GoString is String for %#v.
func (o Options) GoString() string { return "oci.Options" + o.String() }

func (o Options) maxBytes() int64 {
	if o.MaxBytes <= 0 {
		return DefaultMaxBytes
	}
	return o.MaxBytes
}

// Artifact is a plugin as it travels: its packed archive and, optionally, its signature.
type Artifact struct {
	Name        string // the plugin's name, from plugin.toml
	Version     string // the plugin's version, from plugin.toml
	ArchiveName string // the archive's file name, conventionally NAME-VERSION.tar.gz
	Archive     []byte // the reproducible tar.gz
	Signature   []byte // the signature document, or nil (empty counts as none); opaque here
}

// Pulled is an artifact fetched from a registry, with where it was found.
type Pulled struct {
	Artifact
	Digest   string    // the manifest's digest, "sha256:…"
	Resolved Reference // the reference pulled, with Digest set: pin to this to get the same bytes again
}

// plannedLayer is a layer to push: its descriptor and its bytes.
type plannedLayer struct {
	desc ocispec.Descriptor
	data []byte
}

// buildManifest lays out a as an artifact: the manifest's bytes and descriptor, and the layers
// it refers to. Equal artifacts give byte-identical manifests: there is no timestamp, and
// encoding/json writes struct fields in order and map keys sorted.
func buildManifest(a Artifact) (manifest []byte, desc ocispec.Descriptor, layers []plannedLayer, err error) {
	archive := plannedLayer{
		desc: ocispec.Descriptor{
			MediaType:   ArchiveMediaType,
			Digest:      digest.FromBytes(a.Archive),
			Size:        int64(len(a.Archive)),
			Annotations: map[string]string{ocispec.AnnotationTitle: a.ArchiveName},
		},
		data: a.Archive,
	}
	layers = append(layers, archive)
	if len(a.Signature) > 0 {
		layers = append(layers, plannedLayer{
			desc: ocispec.Descriptor{
				MediaType: SignatureMediaType,
				Digest:    digest.FromBytes(a.Signature),
				Size:      int64(len(a.Signature)),
				// A title makes generic tools (oras pull) save the signature beside the archive.
				Annotations: map[string]string{ocispec.AnnotationTitle: a.ArchiveName + ".sig"},
			},
			data: a.Signature,
		})
	}
	m := ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType,
		Config:       ocispec.DescriptorEmptyJSON,
		Annotations: map[string]string{
			ocispec.AnnotationTitle:   a.Name,
			ocispec.AnnotationVersion: a.Version,
		},
	}
	for _, l := range layers {
		m.Layers = append(m.Layers, l.desc)
	}
	manifest, err = json.Marshal(m)
	if err != nil {
		return nil, ocispec.Descriptor{}, nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	desc = ocispec.Descriptor{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType,
		Digest:       digest.FromBytes(manifest),
		Size:         int64(len(manifest)),
	}
	return manifest, desc, layers, nil
}

// checkArtifact says what is wrong with a before anything is sent ("" when nothing is).
func checkArtifact(a Artifact) string {
	switch {
	case a.Name == "":
		return "the plugin has no name"
	case a.Version == "":
		return "the plugin has no version"
	case a.ArchiveName == "":
		return "the archive has no file name"
	case len(a.Archive) == 0:
		return "the archive is empty"
	}
	for _, f := range []struct{ what, value string }{{"name", a.Name}, {"version", a.Version}, {"archive file name", a.ArchiveName}} {
		if why := checkLabel(f.value); why != "" {
			return fmt.Sprintf("plugin %s %q %s", f.what, f.value, why)
		}
	}
	if why := checkFileName(a.ArchiveName); why != "" {
		return fmt.Sprintf("archive file name %q %s", a.ArchiveName, why)
	}
	return ""
}

// checkLabel refuses text that could not be shown on one line or is implausibly long; the same
// rule applies to what we publish and what we accept, so a pull never refuses what a push wrote.
func checkLabel(s string) string {
	if len(s) > maxLabelBytes {
		return fmt.Sprintf("is longer than %d bytes", maxLabelBytes)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return "contains control or non-printable characters"
	}
	return ""
}

// checkFileName refuses a name that is not a single plain path element, because an installer
// may write the archive under it.
func checkFileName(s string) string {
	if s == "." || s == ".." || strings.ContainsAny(s, `/\`) || strings.HasPrefix(s, "-") {
		return "is not a plain file name"
	}
	return ""
}

// Push publishes a to ref's repository and tags it ref.Tag, replacing whatever the tag named.
// It returns the manifest digest. Blobs the registry already has are not sent again.
func Push(ctx context.Context, ref Reference, a Artifact, opts Options) (string, error) {
	fail := failer(ref)
	if err := checkReference(ref); err != nil {
		return "", err
	}
	if ref.Digest != "" {
		return "", fail(ErrBadReference, "publishing needs a tag and no digest", nil, "a digest names existing content; use oci://HOST/REPOSITORY:TAG")
	}
	if why := checkArtifact(a); why != "" {
		return "", fail(nil, "cannot publish: "+why, nil, "")
	}
	limit := opts.maxBytes()
	var total int64
	for _, part := range []struct {
		what string
		size int
	}{{"archive", len(a.Archive)}, {"signature", len(a.Signature)}} {
		if int64(part.size) > limit {
			return "", fail(ErrTooLarge, fmt.Sprintf("cannot publish: the %s is %d bytes, over the %d-byte limit", part.what, part.size, limit), nil, "")
		}
		total += int64(part.size)
	}
	if total > limit {
		return "", fail(ErrTooLarge, fmt.Sprintf("cannot publish: archive and signature are %d bytes together, over the %d-byte limit", total, limit), nil, "")
	}
	manifest, manifestDesc, layers, err := buildManifest(a)
	if err != nil {
		return "", fail(nil, "cannot publish", err, "")
	}

	repo, closeIdle := newRepository(ref, opts)
	defer closeIdle()
	progress := newProgress(opts.Progress, total)

	config := ocispec.DescriptorEmptyJSON
	if err := pushBlob(ctx, repo, config, config.Data, nil); err != nil {
		return "", fail(nil, "uploading the config blob", err, "").classify(ref)
	}
	for _, l := range layers {
		if err := pushBlob(ctx, repo, l.desc, l.data, progress); err != nil {
			return "", fail(nil, fmt.Sprintf("uploading layer %s (%s)", l.desc.Digest, l.desc.MediaType), err, "").classify(ref)
		}
	}
	if err := repo.PushReference(ctx, manifestDesc, bytes.NewReader(manifest), ref.Tag); err != nil {
		return "", fail(nil, "uploading the manifest", err, "").classify(ref)
	}
	progress.finish()
	return manifestDesc.Digest.String(), nil
}

// pushBlob uploads data unless the registry has it already.
func pushBlob(ctx context.Context, repo blobPusher, desc ocispec.Descriptor, data []byte, progress *progress) error {
	exists, err := repo.Exists(ctx, desc)
	if err != nil {
		return err
	}
	if exists {
		progress.add(desc.Size)
		return nil
	}
	// A *bytes.Reader, unwrapped, lets the HTTP client rewind the body to retry or to answer an
	// authentication challenge; that is why uploads report progress a blob at a time.
	if err := repo.Push(ctx, desc, bytes.NewReader(data)); err != nil {
		return err
	}
	progress.add(desc.Size)
	return nil
}

type blobPusher interface {
	Exists(ctx context.Context, desc ocispec.Descriptor) (bool, error)
	Push(ctx context.Context, desc ocispec.Descriptor, content io.Reader) error
}

// Resolve returns the manifest digest ref names now: what its tag points to, or its digest if it
// has one and the registry holds it. It does not check that the manifest is a plugin; Pull does.
func Resolve(ctx context.Context, ref Reference, opts Options) (string, error) {
	fail := failer(ref)
	if err := checkReference(ref); err != nil {
		return "", err
	}
	repo, closeIdle := newRepository(ref, opts)
	defer closeIdle()
	desc, err := repo.Resolve(ctx, ref.target())
	if err != nil {
		return "", fail(nil, "resolving", err, "").classify(ref)
	}
	if ref.Digest != "" && desc.Digest.String() != ref.Digest {
		return "", fail(ErrDigestMismatch, fmt.Sprintf("registry answered with digest %s", desc.Digest), nil, "")
	}
	return desc.Digest.String(), nil
}

// Pull fetches the plugin ref names: by digest when ref has one, else by tag. Before reading
// a blob it checks the manifest is a hermes plugin artifact (ErrNotPlugin) and that the sizes it
// declares are within opts.MaxBytes (ErrTooLarge); it verifies the digest and size of the
// manifest and every blob (ErrDigestMismatch). The empty config is not fetched: nothing in it
// is used.
func Pull(ctx context.Context, ref Reference, opts Options) (*Pulled, error) {
	fail := failer(ref)
	if err := checkReference(ref); err != nil {
		return nil, err
	}
	repo, closeIdle := newRepository(ref, opts)
	defer closeIdle()

	desc, body, err := repo.FetchReference(ctx, ref.target())
	if err != nil {
		return nil, fail(nil, "fetching the manifest", err, "").classify(ref)
	}
	manifestBytes, err := readManifest(desc, body)
	if err != nil {
		return nil, fail(nil, "fetching the manifest", err, "").classify(ref)
	}
	if ref.Digest != "" && desc.Digest.String() != ref.Digest {
		return nil, fail(ErrDigestMismatch, fmt.Sprintf("registry sent manifest %s when asked for %s", desc.Digest, ref.Digest), nil, "the registry is broken or tampered with")
	}
	plan, perr := readPlugin(desc, manifestBytes, opts.maxBytes())
	if perr != nil {
		return nil, perr.withRef(ref)
	}

	progress := newProgress(opts.Progress, plan.total)
	pulled := &Pulled{
		Artifact: Artifact{Name: plan.name, Version: plan.version, ArchiveName: plan.archiveName},
		Digest:   desc.Digest.String(),
		Resolved: ref,
	}
	pulled.Resolved.Digest = pulled.Digest
	pulled.Archive, err = fetchBlob(ctx, repo, plan.archive, progress)
	if err != nil {
		return nil, fail(nil, "fetching the archive layer "+plan.archive.Digest.String(), err, "").classify(ref)
	}
	if plan.signature != nil {
		pulled.Signature, err = fetchBlob(ctx, repo, *plan.signature, progress)
		if err != nil {
			return nil, fail(nil, "fetching the signature layer "+plan.signature.Digest.String(), err, "").classify(ref)
		}
	}
	progress.finish()
	return pulled, nil
}

// checkReference refuses a Reference that ParseReference would not have returned, such as one
// built by hand with no tag and no digest, before anything is sent.
func checkReference(ref Reference) error {
	parsed, err := ParseReference(ref.String())
	if err != nil {
		return err
	}
	if parsed != ref {
		// The fields spell a valid reference, but split differently ("acme/weather:1" as the
		// repository, say): using them as they are would ask the registry for something else.
		return &Error{Ref: ref.String(), Kind: ErrBadReference, Msg: fmt.Sprintf("malformed reference %+v", ref), Note: "build references with ParseReference"}
	}
	return nil
}

// target is what to ask the registry for: the digest when there is one.
func (r Reference) target() string {
	if r.Digest != "" {
		return r.Digest
	}
	return r.Tag
}

// readManifest reads a manifest body of at most MaxManifestBytes and checks it against desc,
// whose digest is the one the registry claimed (or was asked for) and whose size is its
// Content-Length.
func readManifest(desc ocispec.Descriptor, body io.ReadCloser) ([]byte, error) {
	defer body.Close()
	if desc.Size > MaxManifestBytes {
		return nil, &Error{Kind: ErrTooLarge, Msg: fmt.Sprintf("manifest is %d bytes, over the %d-byte limit", desc.Size, MaxManifestBytes)}
	}
	return readVerified(body, desc)
}

// pullPlan is what a plugin manifest says to fetch.
type pullPlan struct {
	name, version, archiveName string
	archive                    ocispec.Descriptor
	signature                  *ocispec.Descriptor
	total                      int64
}

// readPlugin checks that a manifest is a hermes plugin artifact within limits and says what to
// fetch. It is strict: a layer of a type it does not know is refused rather than skipped, since
// a layout it does not fully understand is not one it can vouch for.
func readPlugin(desc ocispec.Descriptor, data []byte, limit int64) (*pullPlan, *Error) {
	notPlugin := func(format string, args ...any) *Error {
		return &Error{Kind: ErrNotPlugin, Msg: "not a hermes plugin artifact", Note: fmt.Sprintf(format, args...)}
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return nil, notPlugin("manifest media type %q, want %q", desc.MediaType, ocispec.MediaTypeImageManifest)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, notPlugin("manifest is not valid JSON: %v", err)
	}
	if m.SchemaVersion != 2 {
		return nil, notPlugin("manifest schemaVersion %d, want 2", m.SchemaVersion)
	}
	if m.MediaType != "" && m.MediaType != ocispec.MediaTypeImageManifest {
		return nil, notPlugin("manifest mediaType %q, want %q", m.MediaType, ocispec.MediaTypeImageManifest)
	}
	if m.ArtifactType != ArtifactType {
		return nil, notPlugin("artifactType %q, want %q", m.ArtifactType, ArtifactType)
	}
	plan := &pullPlan{name: m.Annotations[ocispec.AnnotationTitle], version: m.Annotations[ocispec.AnnotationVersion]}
	if plan.name == "" || plan.version == "" {
		return nil, notPlugin("manifest lacks the %s or %s annotation", ocispec.AnnotationTitle, ocispec.AnnotationVersion)
	}
	for what, value := range map[string]string{"name": plan.name, "version": plan.version} {
		if why := checkLabel(value); why != "" {
			return nil, notPlugin("plugin %s %q %s", what, value, why)
		}
	}

	var archive *ocispec.Descriptor
	for i := range m.Layers {
		layer := &m.Layers[i]
		switch layer.MediaType {
		case ArchiveMediaType:
			if archive != nil {
				return nil, notPlugin("more than one archive layer")
			}
			archive = layer
		case SignatureMediaType:
			if plan.signature != nil {
				return nil, notPlugin("more than one signature layer")
			}
			plan.signature = layer
		default:
			return nil, notPlugin("layer %d has media type %q", i, layer.MediaType)
		}
		if err := layer.Digest.Validate(); err != nil || layer.Digest.Algorithm() != digest.SHA256 {
			return nil, notPlugin("layer %d digest %q is not a sha256 digest", i, layer.Digest)
		}
		if layer.Size < 0 {
			return nil, notPlugin("layer %d has negative size %d", i, layer.Size)
		}
		if layer.Size > limit {
			return nil, &Error{Kind: ErrTooLarge, Msg: fmt.Sprintf("layer %d (%s) is %d bytes, over the %d-byte limit", i, layer.MediaType, layer.Size, limit)}
		}
		plan.total += layer.Size
		if plan.total > limit {
			return nil, &Error{Kind: ErrTooLarge, Msg: fmt.Sprintf("layers are over %d bytes together, the limit", limit)}
		}
	}
	if archive == nil {
		return nil, notPlugin("no layer of media type %q", ArchiveMediaType)
	}
	plan.archive = *archive
	plan.archiveName = archive.Annotations[ocispec.AnnotationTitle]
	if plan.archiveName == "" {
		return nil, notPlugin("the archive layer has no %s annotation", ocispec.AnnotationTitle)
	}
	if why := checkLabel(plan.archiveName); why != "" {
		return nil, notPlugin("archive file name %q %s", plan.archiveName, why)
	}
	if why := checkFileName(plan.archiveName); why != "" {
		return nil, notPlugin("archive file name %q %s", plan.archiveName, why)
	}
	return plan, nil
}

// fetchBlob downloads the blob desc names and verifies it.
func fetchBlob(ctx context.Context, repo blobFetcher, desc ocispec.Descriptor, progress *progress) ([]byte, error) {
	body, err := repo.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	return readVerified(progress.reader(body), desc)
}

type blobFetcher interface {
	Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error)
}

// readVerified reads exactly desc.Size bytes, one more at most to notice a longer body, and
// checks their digest.
func readVerified(r io.Reader, desc ocispec.Descriptor) ([]byte, error) {
	if err := desc.Digest.Validate(); err != nil {
		return nil, &Error{Kind: ErrDigestMismatch, Msg: fmt.Sprintf("registry gave an invalid digest %q", desc.Digest), Err: err}
	}
	data, err := io.ReadAll(io.LimitReader(r, desc.Size+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) != desc.Size {
		return nil, &Error{Kind: ErrDigestMismatch, Msg: fmt.Sprintf("registry sent %d bytes for %s, which is %d bytes", len(data), desc.Digest, desc.Size), Note: "the registry is broken or tampered with"}
	}
	if got := desc.Digest.Algorithm().FromBytes(data); got != desc.Digest {
		return nil, &Error{Kind: ErrDigestMismatch, Msg: fmt.Sprintf("registry sent bytes with digest %s for %s", got, desc.Digest), Note: "the registry is broken or tampered with"}
	}
	return data, nil
}

// progress counts bytes for Options.Progress. A nil *progress counts nothing.
type progress struct {
	report      func(done, total int64)
	done, total int64
}

func newProgress(report func(done, total int64), total int64) *progress {
	if report == nil {
		return nil
	}
	return &progress{report: report, total: total}
}

func (p *progress) add(n int64) {
	if p == nil || n == 0 {
		return
	}
	p.done += n
	p.report(p.done, p.total)
}

// finish reports completion once more, so a caller sees done == total even when nothing moved.
func (p *progress) finish() {
	if p != nil {
		p.report(p.done, p.total)
	}
}

func (p *progress) reader(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return &progressReader{r: r, p: p}
}

type progressReader struct {
	r io.Reader
	p *progress
}

func (pr *progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	pr.p.add(int64(n))
	return n, err
}
