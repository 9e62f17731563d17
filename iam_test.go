package main

import (
	"slices"
	"strings"
	"testing"
)

// TestEveryListBucketStatementHasAPrefixCondition: listing a bucket shows
// only the folders the role works in. s3:ListBucket stands alone in its
// statement (s3:GetBucketLocation has no s3:prefix, so a shared condition
// would refuse it), and every allowed prefix is a folder pattern, never
// the whole bucket.
func TestEveryListBucketStatementHasAPrefixCondition(t *testing.T) {
	each(t, func(t *testing.T, env string, m *mocks) {
		n := 0
		for name, doc := range policies(t, m) {
			for _, s := range doc.Statement {
				if !slices.Contains(s.Action, "s3:ListBucket") {
					continue
				}
				n++
				if len(s.Action) != 1 {
					t.Errorf("%s %s: s3:ListBucket shares its statement with %q", name, s.Sid, s.Action)
				}
				prefixes := s.Condition["StringLike"]["s3:prefix"]
				if len(prefixes) == 0 || len(s.Condition) != 1 {
					t.Errorf("%s %s: condition %v, want only StringLike s3:prefix", name, s.Sid, s.Condition)
				}
				for _, p := range prefixes {
					if !strings.HasSuffix(p, "/*") || strings.Count(p, "*") != 1 || len(p) < 4 {
						t.Errorf("%s %s: s3:prefix %q is not a folder/* pattern", name, s.Sid, p)
					}
				}
			}
		}
		if n < 5 {
			t.Errorf("only %d ListBucket statements: is the test reading the policies?", n)
		}
	})
}

// TestEachEnvironmentReadsOnlyItsOwnBallots: every EE-bucket grant of an
// environment, to read, list or write, stays in that environment's own
// folders: its ballots folder and its boundary reviews export's.
func TestEachEnvironmentReadsOnlyItsOwnBallots(t *testing.T) {
	const ee = "ee.data-cache.production"
	own := map[string][]string{
		"production":  {"ballots-with-wkt/", "boundary-reviews-production/"},
		"development": {"ballots-with-wkt-development/", "boundary-reviews-development/"},
	}
	each(t, func(t *testing.T, env string, m *mocks) {
		mine := func(key string) bool {
			return slices.ContainsFunc(own[env], func(p string) bool { return strings.HasPrefix(key, p) })
		}
		reads := 0
		for name, doc := range policies(t, m) {
			for _, s := range doc.Statement {
				for _, r := range s.Resource {
					key, ok := strings.CutPrefix(r, "arn:aws:s3:::"+ee+"/")
					if !ok {
						continue
					}
					if slices.Contains(s.Action, "s3:GetObject") {
						reads++
					}
					if !mine(key) {
						t.Errorf("%s %s: %q reaches outside %s's folders %q", name, s.Sid, s.Action, env, own[env])
					}
				}
				if slices.Contains(s.Resource, "arn:aws:s3:::"+ee) && slices.Contains(s.Action, "s3:ListBucket") {
					for _, p := range s.Condition["StringLike"]["s3:prefix"] {
						if !mine(p) {
							t.Errorf("%s %s: lists %q, outside %s's folders %q", name, s.Sid, p, env, own[env])
						}
					}
				}
			}
		}
		if reads == 0 {
			t.Errorf("no role reads the ballots: is the test reading the policies?")
		}
	})
}
