package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hermes-agent/hermes/abi"
	"github.com/hermes-agent/hermes/abi/manifest"
	"github.com/hermes-agent/hermes/host/agent"
	"github.com/hermes-agent/hermes/host/install"
	"github.com/hermes-agent/hermes/host/registry"
	"github.com/hermes-agent/hermes/host/skills"
	"github.com/hermes-agent/hermes/store"
)

// pageData is what every template gets.
type pageData struct {
	Title string
	Nav   string
	CSRF  string
	Error string
	Flash string
	Data  any
}

var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.Local().Format("2006-01-02 15:04")
	},
	"signer":  install.SignerLine,
	"limits":  install.LimitsLine,
	"first":   install.FirstSentence,
	"short":   func(s string) string { return s[:min(12, len(s))] },
	"tool":    agent.DisplayName, // "files__read" as people read it: "files.read"
	"snippet": snippet,
}

// snippet renders a search hit's excerpt with its matched terms marked, escaping the rest.
func snippet(s string) template.HTML {
	var b strings.Builder
	for {
		i := strings.Index(s, store.SnippetOpen)
		if i < 0 {
			break
		}
		j := strings.Index(s[i:], store.SnippetClose)
		if j < 0 {
			break
		}
		b.WriteString(template.HTMLEscapeString(s[:i]))
		b.WriteString("<mark>" + template.HTMLEscapeString(s[i+len(store.SnippetOpen):i+j]) + "</mark>")
		s = s[i+j+len(store.SnippetClose):]
	}
	b.WriteString(template.HTMLEscapeString(s))
	return template.HTML(b.String())
}

func (s *Server) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", s.status)
	mux.HandleFunc("GET /plugins", s.pluginList)
	mux.HandleFunc("GET /plugins/{name}", s.pluginPage)
	mux.HandleFunc("GET /plugins/{name}/confirm/{action}", s.pluginConfirm)
	mux.HandleFunc("POST /plugins/{name}/{action}", s.pluginAction)
	mux.HandleFunc("GET /activity", s.activityPage)
	mux.HandleFunc("GET /activity/chart.svg", s.activityChart)
	mux.HandleFunc("GET /sessions", s.sessionList)
	mux.HandleFunc("GET /sessions/{id}", s.sessionPage)
	mux.HandleFunc("GET /sessions/{id}/confirm/delete", s.sessionConfirm)
	mux.HandleFunc("POST /sessions/{id}/delete", s.sessionDelete)
	mux.HandleFunc("GET /keys", s.keysPage)
	mux.HandleFunc("POST /keys", s.keySet)
	mux.HandleFunc("GET /keys/{name}/confirm/delete", s.keyConfirm)
	mux.HandleFunc("POST /keys/{name}/delete", s.keyDelete)
	mux.HandleFunc("GET /approvals", s.approvalsPage)
	mux.HandleFunc("GET /approvals/{id}/confirm/revoke", s.approvalConfirm)
	mux.HandleFunc("POST /approvals/{id}/revoke", s.approvalRevoke)
	mux.HandleFunc("GET /skills", s.skillsPage)
	mux.HandleFunc("GET /skills/{name}/confirm/restore", s.skillConfirm)
	mux.HandleFunc("POST /skills/{name}/restore", s.skillRestore)
	mux.HandleFunc("GET /logout", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, r, http.StatusOK, "logout", pageData{Title: "Log out"})
	})
	mux.HandleFunc("POST /logout", s.logout)
}

// render executes a page into a buffer first, so a template error is a clean 500.
func (s *Server) render(w http.ResponseWriter, r *http.Request, code int, page string, d pageData) {
	if sess, ok := r.Context().Value(ctxKey{}).(*session); ok {
		d.CSRF = sess.csrf
	}
	if d.Nav == "" {
		d.Nav = page
	}
	if d.Flash == "" {
		d.Flash = r.URL.Query().Get("done")
	}
	var buf bytes.Buffer
	t := s.pages[page]
	if t == nil {
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	if err := t.Execute(&buf, d); err != nil {
		s.o.Logger.Error("dashboard: render", "page", page, "err", err)
		http.Error(w, "the page could not be shown (see hermes' log)", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// fail shows an error page. Messages come from hermes' own errors, which never hold a key's
// value; they are escaped like everything else.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	var no *refusal
	switch {
	case errors.As(err, &no):
		code = no.status
	case errors.Is(err, store.ErrNotFound) || abi.CodeOf(err) == abi.CodeNotFound:
		code = http.StatusNotFound
	}
	s.render(w, r, code, "error", pageData{Title: "Error", Error: err.Error()})
}

// refusal is something the dashboard will not do, with the status it answers.
type refusal struct {
	status int
	msg    string
}

func (e *refusal) Error() string { return e.msg }

// done redirects after a POST (303, so a reload does not repeat it) with a note to show.
func done(w http.ResponseWriter, r *http.Request, path, note string) {
	http.Redirect(w, r, path+"?done="+url.QueryEscape(note), http.StatusSeeOther)
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := s.o.Status
	d := map[string]any{"S": st}
	docker := "not checked"
	if st.Docker != nil {
		if v, err := st.Docker(ctx); err != nil {
			docker = "not answering: " + err.Error()
		} else {
			docker = "answering (version " + v + ")"
		}
	}
	d["Docker"] = docker
	plugins, _ := s.o.Plugins.List(ctx)
	sessions, _ := s.o.Store.ListSessions(ctx, store.SessionFilter{AllSources: true})
	skills, _ := s.o.Store.ListSkills(ctx)
	d["Counts"] = map[string]int{"plugins": len(plugins), "sessions": len(sessions), "skills": len(skills)}
	if r.URL.Query().Get("doctor") == "1" && st.Doctor != nil {
		d["Doctor"] = st.Doctor(ctx)
	}
	s.render(w, r, http.StatusOK, "status", pageData{Title: "Status", Data: d})
}

func (s *Server) pluginList(w http.ResponseWriter, r *http.Request) {
	list, err := s.o.Plugins.List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := map[string]any{"Plugins": list, "CanAudit": s.o.Installer != nil}
	// The audit runs on request only: it reads every module and may ask a registry.
	if r.URL.Query().Get("audit") == "1" && s.o.Installer != nil {
		report, err := s.o.Installer.Audit(r.Context(), "")
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d["Audit"] = report
	}
	s.render(w, r, http.StatusOK, "plugins", pageData{Title: "Plugins", Data: d})
}

func (s *Server) pluginPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PathValue("name")
	info, err := s.o.Plugins.Get(ctx, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	versions, _ := s.o.Plugins.Versions(ctx, name)
	recent, _ := s.o.Store.ListActivity(ctx, store.ActivityFilter{Plugin: name, Limit: 20})
	grants := info.Granted.Describe()
	if len(grants) == 0 {
		grants = []string{"nothing: no files, no network, no secrets"}
	}
	s.render(w, r, http.StatusOK, "plugin", pageData{Title: "Plugin " + name, Nav: "plugins", Data: map[string]any{
		"P": info, "Grants": grants, "Versions": versions, "Activity": recent, "CanRestore": s.o.Installer != nil}})
}

var pluginActions = map[string]string{
	"enable":  "Enable",
	"disable": "Disable",
	"remove":  "Remove",
	"restore": "Restore",
}

func (s *Server) pluginConfirm(w http.ResponseWriter, r *http.Request) {
	name, action := r.PathValue("name"), r.PathValue("action")
	verb, ok := pluginActions[action]
	if !ok {
		s.fail(w, r, &abi.Error{Code: abi.CodeNotFound, Message: "no such action " + strconv.Quote(action)})
		return
	}
	info, err := s.o.Plugins.Get(r.Context(), name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if action == "restore" {
		version := r.URL.Query().Get("version")
		if _, err := s.keptVersion(r.Context(), info, version); err != nil {
			s.fail(w, r, err)
			return
		}
		s.render(w, r, http.StatusOK, "confirm", pageData{Title: "Restore " + name, Nav: "plugins", Data: map[string]any{
			"Question": "Restore plugin " + name + " " + version + " in place of " + info.Version + "?",
			"What":     "Its module, manifest and grants go back to those kept for " + version + ". Version " + info.Version + " stays kept, so you can come back to it the same way.",
			"Action":   "/plugins/" + url.PathEscape(name) + "/restore", "Fields": map[string]string{"version": version},
			"Verb": "Restore", "Back": "/plugins/" + url.PathEscape(name)}})
		return
	}
	what := map[string]string{
		"enable":  "Its tools will be offered again, with the grants recorded when it was installed.",
		"disable": "Its tools will not be offered and it will not load; its grants and data are kept.",
		"remove":  "Its files, grants and data are deleted. Installing it again means reviewing it again.",
	}[action]
	s.render(w, r, http.StatusOK, "confirm", pageData{Title: verb + " " + name, Nav: "plugins", Data: map[string]any{
		"Question": verb + " plugin " + name + "?", "What": what, "Action": "/plugins/" + url.PathEscape(name) + "/" + action,
		"Verb": verb, "Back": "/plugins/" + url.PathEscape(name)}})
}

func (s *Server) pluginAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, action := r.PathValue("name"), r.PathValue("action")
	var err error
	switch action {
	case "enable":
		if err = s.grantsUnchanged(ctx, name); err == nil {
			err = s.o.Plugins.SetEnabled(ctx, name, true)
		}
	case "disable":
		err = s.o.Plugins.SetEnabled(ctx, name, false)
	case "remove":
		err = s.o.Plugins.Remove(ctx, name)
	case "restore":
		version := r.PostFormValue("version")
		var rec store.PluginRecord
		var previous string
		if err = s.restoreGrantsNothing(ctx, name, version); err == nil {
			rec, previous, err = s.o.Installer.Restore(ctx, name, version)
		}
		if err == nil {
			done(w, r, "/plugins/"+url.PathEscape(name), "Restored "+name+" "+rec.Version+" (was "+previous+").")
			return
		}
	default:
		err = &abi.Error{Code: abi.CodeNotFound, Message: "no such action " + strconv.Quote(action)}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if action == "remove" {
		done(w, r, "/plugins", "Removed "+name+".")
		return
	}
	done(w, r, "/plugins/"+url.PathEscape(name), strings.ToUpper(action[:1])+action[1:]+"d "+name+".")
}

// grantsUnchanged refuses to enable a plugin whose manifest now asks for something that was
// not granted: the dashboard never widens a grant; the command line's review does.
func (s *Server) grantsUnchanged(ctx context.Context, name string) error {
	rec, err := s.o.Plugins.Record(ctx, name)
	if err != nil {
		return err
	}
	info, err := s.o.Plugins.Get(ctx, name)
	if err != nil {
		return err
	}
	m, err := manifest.Parse(rec.Manifest)
	if err != nil {
		return errors.New("its recorded manifest cannot be read; review it on the command line: hermes plugins audit " + name)
	}
	granted := info.Granted.Grants()
	for _, g := range m.Capabilities.Grants() {
		if !slices.Contains(granted, g) {
			return &refusal{http.StatusForbidden, "its manifest asks for permissions that were not granted (" + g + "); the dashboard does not grant anything: review it on the command line with hermes plugins enable " + name}
		}
	}
	return nil
}

// keptVersion is the kept version of a plugin that Installer.Restore picks for version: the
// first kept record of that version that is not the installed one.
func (s *Server) keptVersion(ctx context.Context, info registry.Info, version string) (store.PluginRecord, error) {
	if s.o.Installer == nil {
		return store.PluginRecord{}, &refusal{http.StatusNotFound, "restoring is not available here; on the command line: hermes plugins reset " + info.Name + " --restore VERSION"}
	}
	if version == "" {
		return store.PluginRecord{}, &refusal{http.StatusBadRequest, "no version given: choose one of the kept versions on the plugin's page"}
	}
	kept, err := s.o.Plugins.Versions(ctx, info.Name)
	if err != nil {
		return store.PluginRecord{}, err
	}
	for _, k := range kept {
		if k.Version == version && !(k.Version == info.Version && k.WasmSHA256 == info.SHA256) {
			return k, nil
		}
	}
	return store.PluginRecord{}, &abi.Error{Code: abi.CodeNotFound, Plugin: info.Name,
		Message: "no kept version " + strconv.Quote(version) + " of " + info.Name + " other than the installed one (the plugin's page lists the kept versions)"}
}

// restoreGrantsNothing refuses to restore a kept version that had a permission the plugin
// does not have now: the dashboard never widens a grant; the command line does, and says so.
func (s *Server) restoreGrantsNothing(ctx context.Context, name, version string) error {
	info, err := s.o.Plugins.Get(ctx, name)
	if err != nil {
		return err
	}
	k, err := s.keptVersion(ctx, info, version)
	if err != nil {
		return err
	}
	var then abi.Capabilities
	if err := json.Unmarshal(k.Granted, &then); err != nil {
		return errors.New("the grants recorded for " + name + " " + version + " cannot be read; restore it on the command line: hermes plugins reset " + name + " --restore " + version)
	}
	now := info.Granted.Grants()
	for _, g := range then.Grants() {
		if !slices.Contains(now, g) {
			return &refusal{http.StatusForbidden, name + " " + version + " had a permission it does not have now (" + g + "); the dashboard does not grant anything: restore it on the command line with hermes plugins reset " + name + " --restore " + version}
		}
	}
	return nil
}

func activityFilter(r *http.Request) store.ActivityFilter {
	q := r.URL.Query()
	return store.ActivityFilter{Plugin: q.Get("plugin"), Kind: q.Get("kind"), Outcome: q.Get("outcome"), Limit: 200}
}

func (s *Server) activityPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f := activityFilter(r)
	rows, err := s.o.Store.ListActivity(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	plugins, _ := s.o.Plugins.List(ctx)
	var names []string
	for _, p := range plugins {
		names = append(names, p.Name)
	}
	s.render(w, r, http.StatusOK, "activity", pageData{Title: "Activity", Data: map[string]any{
		"Rows": rows, "F": f, "Plugins": names, "Query": r.URL.RawQuery, "Ring": s.o.ActivityPerPlugin,
		"Kinds": []string{"http", "fs", "env", "kv", "exec", "limit", "activity"}, "Outcomes": []string{"ok", "denied", "limit", "error", "dropped"}}})
}

func (s *Server) activityChart(w http.ResponseWriter, r *http.Request) {
	days, err := s.o.Store.ActivityByDay(r.Context(), activityFilter(r))
	if err != nil {
		http.Error(w, "activity could not be read", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	_, _ = w.Write(chartSVG(days))
}

func (s *Server) sessionList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	source, q := r.URL.Query().Get("source"), strings.TrimSpace(r.URL.Query().Get("q"))
	f := store.SessionFilter{Source: source, AllSources: source == ""}
	all, err := s.o.Store.ListSessions(ctx, store.SessionFilter{AllSources: true})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sources := map[string]bool{}
	var shown []store.Session
	for _, ss := range all {
		sources[ss.Source] = true
		if source == "" || ss.Source == source {
			shown = append(shown, ss)
		}
	}
	names := make([]string, 0, len(sources))
	for n := range sources {
		names = append(names, n)
	}
	sort.Strings(names)
	d := map[string]any{"Sessions": shown, "Sources": names, "Source": source, "Q": q}
	if q != "" {
		hits, err := s.o.Store.Search(ctx, q, f)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		d["Hits"] = hits
	}
	s.render(w, r, http.StatusOK, "sessions", pageData{Title: "Sessions", Data: d})
}

func (s *Server) sessionPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	f := store.SessionFilter{AllSources: true}
	sess, err := s.o.Store.GetSession(ctx, id, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	msgs, err := s.o.Store.Messages(ctx, id, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "session", pageData{Title: "Session " + id, Nav: "sessions", Data: map[string]any{"S": sess, "Messages": msgs}})
}

func (s *Server) sessionConfirm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.o.Store.GetSession(r.Context(), id, store.SessionFilter{AllSources: true}); err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "confirm", pageData{Title: "Delete session", Nav: "sessions", Data: map[string]any{
		"Question": "Delete session " + id + "?", "What": "Its messages are deleted and cannot be searched or resumed.",
		"Action": "/sessions/" + url.PathEscape(id) + "/delete", "Verb": "Delete", "Back": "/sessions/" + url.PathEscape(id)}})
}

func (s *Server) sessionDelete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.o.Store.DeleteSession(r.Context(), id, store.SessionFilter{AllSources: true}); err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/sessions", "Deleted session "+id+".")
}

// keyRow is a key as shown: its name and the last 4 characters of its value (fewer for a short
// one), never the value.
type keyRow struct{ Name, Hint string }

func mask(v string) string {
	r := []rune(v)
	switch {
	case len(r) == 0:
		return "(empty)"
	case len(r) < 12:
		return "•••• (set)"
	}
	return "••••" + string(r[len(r)-4:])
}

func (s *Server) keysPage(w http.ResponseWriter, r *http.Request) {
	values, err := s.o.Keys.Read()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := make([]keyRow, 0, len(values))
	for k, v := range values {
		rows = append(rows, keyRow{Name: k, Hint: mask(v)})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	s.render(w, r, http.StatusOK, "keys", pageData{Title: "Keys", Data: rows})
}

func (s *Server) keySet(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	if err := s.o.Keys.Set(name, r.PostFormValue("value")); err != nil {
		// The store's errors name the key, never its value.
		s.render(w, r, http.StatusBadRequest, "error", pageData{Title: "Error", Nav: "keys", Error: "could not set " + name + ": " + err.Error()})
		return
	}
	done(w, r, "/keys", "Set "+name+".")
}

func (s *Server) keyConfirm(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.render(w, r, http.StatusOK, "confirm", pageData{Title: "Delete key", Nav: "keys", Data: map[string]any{
		"Question": "Delete " + name + " from .env?", "What": "Plugins and the agent that use it will no longer find it.",
		"Action": "/keys/" + url.PathEscape(name) + "/delete", "Verb": "Delete", "Back": "/keys"}})
}

func (s *Server) keyDelete(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.o.Keys.Delete(name); err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/keys", "Deleted "+name+".")
}

func (s *Server) approvalsPage(w http.ResponseWriter, r *http.Request) {
	list, err := s.o.Store.ListApprovals(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "approvals", pageData{Title: "Approvals", Data: list})
}

func (s *Server) approvalConfirm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	list, err := s.o.Store.ListApprovals(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, a := range list {
		if strconv.FormatInt(a.ID, 10) == id {
			s.render(w, r, http.StatusOK, "confirm", pageData{Title: "Revoke approval", Nav: "approvals", Data: map[string]any{
				"Question": "Revoke the “always” approval of " + a.Shape + "?", "What": "The next command of that shape asks again before it runs.",
				"Action": "/approvals/" + id + "/revoke", "Verb": "Revoke", "Back": "/approvals"}})
			return
		}
	}
	s.fail(w, r, &refusal{http.StatusNotFound, "no approval " + strconv.Quote(id) + " (it may have been revoked already)"})
}

func (s *Server) approvalRevoke(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		err = s.o.Store.RevokeApproval(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/approvals", "Revoked the approval.")
}

func (s *Server) skillsPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	list, err := s.o.Store.ListSkills(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	type row struct {
		store.SkillRecord
		Versions []store.SkillVersion
	}
	rows := make([]row, 0, len(list))
	for _, sk := range list {
		v, _ := s.o.Store.SkillVersions(ctx, sk.Name)
		rows = append(rows, row{sk, v})
	}
	s.render(w, r, http.StatusOK, "skills", pageData{Title: "Skills", Data: map[string]any{"Skills": rows, "CanRestore": s.o.Skills != nil}})
}

// keptSkill is the kept version of a skill that a restore of version (a version or a content
// digest prefix, as the skills page links them) brings back, and the active one.
func (s *Server) keptSkill(ctx context.Context, name, version string) (store.SkillVersion, store.SkillRecord, error) {
	if s.o.Skills == nil {
		return store.SkillVersion{}, store.SkillRecord{}, &refusal{http.StatusNotFound, "restoring is not available here; on the command line: hermes skills reset " + name + " --restore VERSION"}
	}
	if version == "" {
		return store.SkillVersion{}, store.SkillRecord{}, &refusal{http.StatusBadRequest, "no version given: choose one of the kept versions on the skills page"}
	}
	list, err := s.o.Store.ListSkills(ctx)
	if err != nil {
		return store.SkillVersion{}, store.SkillRecord{}, err
	}
	idx := slices.IndexFunc(list, func(sk store.SkillRecord) bool { return sk.Name == name })
	if idx < 0 {
		return store.SkillVersion{}, store.SkillRecord{}, &refusal{http.StatusNotFound, "no skill " + strconv.Quote(name)}
	}
	cur := list[idx]
	vs, err := s.o.Store.SkillVersions(ctx, name)
	if err != nil {
		return store.SkillVersion{}, store.SkillRecord{}, err
	}
	for _, v := range vs {
		if (v.Version == version || len(version) >= 6 && strings.HasPrefix(v.ContentSHA256, version)) && !(v.Version == cur.Version && v.ContentSHA256 == cur.ContentSHA256) {
			return v, cur, nil
		}
	}
	return store.SkillVersion{}, store.SkillRecord{}, &refusal{http.StatusNotFound, "no kept version " + strconv.Quote(version) + " of skill " + name + " other than the active one (the skills page lists the kept versions)"}
}

func (s *Server) skillConfirm(w http.ResponseWriter, r *http.Request) {
	name, version := r.PathValue("name"), r.URL.Query().Get("version")
	v, cur, err := s.keptSkill(r.Context(), name, version)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "confirm", pageData{Title: "Restore skill " + name, Nav: "skills", Data: map[string]any{
		"Question": "Restore skill " + name + " " + v.Version + " (sha256 " + v.ContentSHA256[:12] + ") in place of " + cur.Version + " (sha256 " + cur.ContentSHA256[:12] + ")?",
		"What":     "Its files are scanned again and must pass the policy of its trust level; its tools follow it, unless one would need your review (then the command line does it). The active copy stays kept if it is unchanged.",
		"Action":   "/skills/" + url.PathEscape(name) + "/restore", "Fields": map[string]string{"version": version},
		"Verb": "Restore", "Back": "/skills"}})
}

func (s *Server) skillRestore(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, version := r.PathValue("name"), r.PostFormValue("version")
	if _, _, err := s.keptSkill(ctx, name, version); err != nil {
		s.fail(w, r, err)
		return
	}
	// No Confirm: a restore the policy would ask about is refused (the CLI asks).
	res, err := s.o.Skills.Reset(ctx, name, skills.ResetOptions{Restore: true, Version: version})
	var review *ReviewNeeded
	switch {
	case errors.As(err, &review):
		s.fail(w, r, &refusal{http.StatusForbidden, "skill " + name + ": " + review.Error() + "; the dashboard does not grant anything: restore it on the command line with hermes skills reset " + name + " --restore " + version})
		return
	case errors.Is(err, skills.ErrNothingToRestore):
		s.fail(w, r, &refusal{http.StatusNotFound, err.Error()})
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	done(w, r, "/skills", "Restored skill "+name+" "+res.Skill.Version+" (verdict "+res.Skill.Verdict.String()+"), in place of "+res.Previous.Version+".")
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(cookieName); err == nil {
		s.mu.Lock()
		delete(s.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.o.TLS, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
