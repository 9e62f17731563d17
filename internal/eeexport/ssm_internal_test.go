package eeexport

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConnConfigKeepsPasswordOutOfTheDSN(t *testing.T) {
	p := DBParams{Host: "ee-db.example.internal", User: "every@election", Name: "every_election", Password: "p@ss word/with:odd&chars"}
	cfg, err := connConfig(p, 6432, "require", "dc-data-baker-export-current-ballots")
	if err != nil {
		t.Fatalf("connConfig: %v", err)
	}
	if strings.Contains(cfg.ConnString(), "p@ss") {
		t.Errorf("ConnString %q contains the password", cfg.ConnString())
	}
	type conn struct {
		Host, User, Database, Password, AppName string
		Port                                    uint16
		Timeout                                 time.Duration
	}
	got := conn{cfg.Host, cfg.User, cfg.Database, cfg.Password, cfg.RuntimeParams["application_name"], cfg.Port, cfg.ConnectTimeout}
	want := conn{p.Host, p.User, p.Name, p.Password, "dc-data-baker-export-current-ballots", 6432, connectTimeout}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pgx config (-want +got):\n%s", diff)
	}
	if cfg.TLSConfig == nil {
		t.Error("sslmode=require gave no TLS config")
	}
}
