// Package e2e executes the layers' real state machine definitions with
// aws-local-stepfunctions, routing every Lambda task to the project's real Go
// handlers over HTTP, against an in-process S3 and fakes of Athena, Glue and
// Step Functions that speak the AWS wire protocols. The Athena fake
// (internal/athenafake) executes the stack's real named queries on
// PostgreSQL + PostGIS (internal/trinopg), reading and writing the fake S3.
// Its code is all in tests.
package e2e
