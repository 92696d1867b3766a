from costscope.cli import main

main()
