from verifier.launch import main

main()
