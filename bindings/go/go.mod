module libworker.dev/worker

go 1.19
