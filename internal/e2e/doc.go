// Package e2e executes the layers' real state machine definitions with
// aws-local-stepfunctions, routing every Lambda task to the project's real Go
// handlers over HTTP, against an in-process S3 and fakes of Athena, Glue and
// Step Functions that speak the AWS wire protocols. Its code is all in tests.
package e2e
