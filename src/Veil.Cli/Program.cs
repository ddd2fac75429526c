using Veil.Cli;

return VeilCli.Run(args, Console.Out, Console.Error);
