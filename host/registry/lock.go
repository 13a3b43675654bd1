package registry

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/host/config"
	"github.com/hermes-agent/hermes/host/install/signing"
	"github.com/hermes-agent/hermes/store"
)

// The lock entry of a plugin (its row in state.db) says which bytes may run and with what
// grants. Its seal is an HMAC-SHA256 over every field that matters, keyed by lock.key in the
// home (mode 0600, made on first install). An entry edited by anything but hermes — a stray
// sqlite3 session, a sync conflict, a tool that "fixes" a digest — no longer matches its seal,
// and the plugin refuses to load until `hermes plugins audit` has been looked at.

// ProjectSourcePrefix starts the recorded source of a plugin installed from a workspace's
// .hermes/plugins/: such plugins load only when config.Plugins.ProjectLocal is on.
const ProjectSourcePrefix = "project:"

// lockKeyFile is the name of the seal key in the home.
const lockKeyFile = "lock.key"

// lockKey reads the home's seal key, creating it when create is set and there is none.
func lockKey(paths config.Paths, create bool) ([]byte, error) {
	path := filepath.Join(paths.Home, lockKeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("make lock key: %w", err)
		}
		if err := config.WriteFileAtomic(path, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write lock key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read lock key %s: %w (run: hermes plugins audit)", path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(data)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("lock key %s is damaged (run: hermes plugins audit)", path)
	}
	return key, nil
}

// sealOf computes the seal of a lock entry. Each field is length-prefixed so no two entries
// share an encoding. Enabled is left out on purpose: disabling a plugin makes nothing run.
func sealOf(key []byte, rec store.PluginRecord) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("hermes-lock-v1"))
	for _, field := range [][]byte{
		[]byte(rec.Name), []byte(rec.Version), []byte(rec.Dir), []byte(rec.WasmSHA256),
		rec.Manifest, rec.Granted, rec.Limits, rec.Tools,
		[]byte(rec.Source), []byte(rec.Signer), []byte(rec.SignerKey), rec.Signature,
	} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(field)))
		mac.Write(n[:])
		mac.Write(field)
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// checkSeal refuses a lock entry whose seal does not match it.
func (r *Registry) checkSeal(rec store.PluginRecord) error {
	key, err := lockKey(r.paths, false)
	if err != nil {
		return &abi.Error{Code: abi.CodeBadPlugin, Plugin: rec.Name, Message: err.Error(), Err: err}
	}
	if rec.Seal == "" || !hmac.Equal([]byte(rec.Seal), []byte(sealOf(key, rec))) {
		return &abi.Error{Code: abi.CodeBadPlugin, Plugin: rec.Name, Message: "its lock entry was changed outside hermes (the seal does not match); not loading it (run: hermes plugins audit " + rec.Name + ")", Err: ErrLockTampered}
	}
	return nil
}

// ErrLockTampered is wrapped by errors about a lock entry that does not match its seal.
var ErrLockTampered = errors.New("lock entry does not match its seal")

// checkSigner refuses a plugin whose signer's key is no longer trusted: untrusting a key (say,
// one that leaked) stops what it vouched for, until the user trusts it again or reinstalls.
// Plugins installed unsigned (--allow-unsigned) have no signer and are not affected.
func (r *Registry) checkSigner(ctx context.Context, rec store.PluginRecord) error {
	if rec.Signer == "" {
		return nil
	}
	keys, err := r.store.TrustedKeys(ctx)
	if err != nil {
		return fmt.Errorf("plugin %s: trusted keys: %w", rec.Name, err)
	}
	for _, k := range keys {
		if pub, err := signing.ParsePublicKey(k.PublicKey); err == nil && k.Name == rec.Signer && signing.Fingerprint(pub) == rec.SignerKey {
			return nil
		}
	}
	return &abi.Error{Code: abi.CodeDenied, Plugin: rec.Name, Message: fmt.Sprintf("signed by %s (key %s), which you no longer trust; not loading it (trust the key again, or see: hermes plugins audit %s)", rec.Signer, rec.SignerKey, rec.Name), Err: ErrSignerUntrusted}
}

// ErrSignerUntrusted is wrapped when a plugin's signing key is no longer trusted.
var ErrSignerUntrusted = errors.New("the plugin's signer is no longer trusted")
