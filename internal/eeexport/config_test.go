package eeexport_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/DemocracyClub/dc-data-baker/internal/eeexport"
)

func TestDBParamsNeverShowPassword(t *testing.T) {
	p := eeexport.DBParams{Host: "db.internal", User: "every_election", Name: "every_election", Password: "hunter2-secret"}
	for name, s := range map[string]string{
		"String":   p.String(),
		"LogValue": p.LogValue().String(),
	} {
		if strings.Contains(s, p.Password) {
			t.Errorf("%s = %q contains the password", name, s)
		}
		if !strings.Contains(s, "db.internal") {
			t.Errorf("%s = %q does not name the host", name, s)
		}
	}
}

func TestHistoryKey(t *testing.T) {
	at := time.Date(2026, 12, 2, 18, 5, 12, 0, time.FixedZone("BST", 3600))
	if got, want := eeexport.HistoryKey("current_elections/", "ballots-with-wkt/current_elections.csv", at), "current_elections/2026-12-02/current_elections-170512Z.csv"; got != want {
		t.Errorf("HistoryKey = %q, want %q (UTC date and time)", got, want)
	}
}

func TestHistoryConfig(t *testing.T) {
	base := map[string]string{"BUCKET": "b", "DB_HOST_PARAM": "/h", "DB_USER_PARAM": "/u", "DB_NAME_PARAM": "/n", "DB_PASSWORD_PARAM": "/p"}
	for _, tc := range []struct {
		bucket, prefix, wantErr string
	}{
		{"", "", ""},
		{"h", "current_elections/", ""},
		{"h", "", "must be set together"},
		{"", "current_elections/", "must be set together"},
		{"h", "current_elections", "must be a folder"},
		{"h", "/current_elections/", "must be a folder"},
	} {
		env := map[string]string{"HISTORY_BUCKET": tc.bucket, "HISTORY_PREFIX": tc.prefix}
		for k, v := range base {
			env[k] = v
		}
		c, errs := eeexport.ConfigFromEnv(func(k string) string { return env[k] }, "k.csv")
		err := errors.Join(errs...)
		if (err == nil) != (tc.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("HISTORY_BUCKET %q HISTORY_PREFIX %q: %v, want %q", tc.bucket, tc.prefix, err, tc.wantErr)
		}
		if err == nil && (c.HistoryBucket != tc.bucket || c.HistoryPrefix != tc.prefix) {
			t.Errorf("config %+v", c)
		}
	}
}
