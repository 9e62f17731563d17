// Command hello is a minimal Lambda used as a build fixture by the
// gofunction tests.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
)

// In is the invocation payload.
type In struct {
	Name string `json:"name"`
}

// Out is the handler's result.
type Out struct {
	Greeting string `json:"greeting"`
}

func handle(_ context.Context, in In) (Out, error) {
	return Out{Greeting: "hello " + in.Name}, nil
}

func main() {
	lambda.Start(handle)
}
