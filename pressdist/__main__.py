from pressdist.cli import main

main()
