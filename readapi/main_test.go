package readapi_test

import (
	"os"
	"testing"

	"github.com/cometa-es/cometa/internal/pgtest"
)

// TestMain starts the PostgreSQL that every test's apitest.Server uses.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
