using Veil.Cli;

// First, before the runtime's and the host's threads each take a malloc arena of their own: see NativeHeap.
Veil.Broker.Hosting.NativeHeap.BoundArenas(Environment.GetEnvironmentVariable);
return VeilCli.Run(args, Console.Out, Console.Error);
