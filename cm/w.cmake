execute_process(COMMAND sleep 100)
