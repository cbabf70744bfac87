using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/SafeHaven.Benchmarks -- --filter '*' [--job short]
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
